package actors

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// The global entries a client acknowledges are reported, gathered for
// arrivalsDelay, to the stream whose statistics count them: its user's
// for a global bizType of user target, its device's for device target.
func TestClientReportsGlobalArrivals(t *testing.T) {
	cases := []struct {
		name   string
		target opsyncpb.Target
		stream string
	}{
		{"user target: the user's stream", opsyncpb.Target_TARGET_USER, aliceStream},
		{"device target: the device's stream", opsyncpb.Target_TARGET_DEVICE, dev1Stream},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			global := &opsyncpb.BizTypeConfig{BizType: "G", Scope: opsyncpb.Scope_SCOPE_GLOBAL, Target: c.target, PushToOnline: true, Online: true, Persistent: true}
			ct := startClientTest(t, 10, map[string]uint64{"A": 0, "G": 0}, true, global)
			gStream := GlobalStream(testInstance, "G")
			ct.awaitFromClient(gStream, func(m proto.Message) bool { _, ok := m.(*opsyncpb.Subscribe); return ok })
			ct.deliver(gStream, false, ents("G", 1, 2)...)
			ct.sink.next()
			ct.ack(sp("G", 2)) // out of order: an arrival all the same
			ct.ack(sp("G", 1))
			// The acks go to the global stream after ackDelay; the
			// arrivals, gathered longer, after arrivalsDelay.
			ct.clock.awaitTimerAt(t, arrivalsDelay)
			ct.clock.Advance(ackDelay)
			ct.awaitFromClient(gStream, func(m proto.Message) bool { _, ok := m.(*opsyncpb.AckSyncPoints); return ok })
			ct.clock.Advance(arrivalsDelay - ackDelay)
			m := ct.awaitFromClient(c.stream, func(m proto.Message) bool { _, ok := m.(*opsyncpb.GlobalArrivals); return ok }).(*opsyncpb.GlobalArrivals)
			var got []string
			for _, e := range m.Entries {
				got = append(got, fmt.Sprintf("%s=%d", e.BizType, e.OplogId))
			}
			if fmt.Sprint(got) != "[G=2 G=1]" || m.DeviceId != "dev1" {
				t.Fatalf("%s got arrivals %v from %q, want [G=2 G=1] from dev1", c.stream, got, m.DeviceId)
			}
		})
	}
}
