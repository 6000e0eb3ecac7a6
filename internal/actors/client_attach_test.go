package actors

import (
	"fmt"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A configured bizType has entries only in its target's stream (a target
// never changes), so a client attaches it there only: a client of
// user-target bizTypes reads one stream, with the whole window, not its
// device's too. A bizType without a config yet (its target unknown) is
// attached to both.
func TestClientAttachesBizTypesToTheirTargetStream(t *testing.T) {
	user := &opsyncpb.BizTypeConfig{BizType: "U", Target: opsyncpb.Target_TARGET_USER, Online: true, Persistent: true}
	device := &opsyncpb.BizTypeConfig{BizType: "D", Target: opsyncpb.Target_TARGET_DEVICE, Online: true, Persistent: true}
	keys := func(s *opsyncpb.Subscribe) string {
		var out []string
		for biz := range s.After {
			out = append(out, biz)
		}
		slices.Sort(out)
		return fmt.Sprint(out)
	}
	t.Run("user target only: one stream, the whole window", func(t *testing.T) {
		ct := startClientTest(t, 10, map[string]uint64{"U": 0}, true, user, device)
		if got := keys(ct.userSub); got != "[U]" || ct.userSub.Window != 10 {
			t.Fatalf("the user's stream was subscribed for %s with a window of %d, want [U] and 10 (no other stream shares it)", got, ct.userSub.Window)
		}
	})
	t.Run("each to its target's stream, the unconfigured to both", func(t *testing.T) {
		ct := startClientTest(t, 10, map[string]uint64{"U": 0, "D": 0, "X": 0}, true, user, device)
		dev := ct.awaitFromClient(dev1Stream, func(m proto.Message) bool { _, ok := m.(*opsyncpb.Subscribe); return ok }).(*opsyncpb.Subscribe)
		if got := keys(ct.userSub); got != "[U X]" {
			t.Errorf("the user's stream was subscribed for %s, want [U X]", got)
		}
		if got := keys(dev); got != "[D X]" {
			t.Errorf("the device's stream was subscribed for %s, want [D X]", got)
		}
		if ct.userSub.Window != 5 || dev.Window != 5 {
			t.Errorf("windows %d and %d, want the 10 shared by the two streams", ct.userSub.Window, dev.Window)
		}
	})
}
