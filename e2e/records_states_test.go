package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// statesAnswer is a records answer with its entries' states.
type statesAnswer struct {
	Dropped uint64 `json:"dropped"`
	Entries []struct {
		OplogID    uint64 `json:"oplogId"`
		ThirdMsgID string `json:"thirdMsgId"`
		State      *struct {
			Status         string   `json:"status"`
			AcknowledgedBy []string `json:"acknowledgedBy"`
			Deliveries     uint32   `json:"deliveries"`
		} `json:"state"`
	} `json:"entries"`
}

// states spells each entry's state as msg=status/acknowledgedBy
// (quoted)/deliveries, by thirdMsgId.
func (a statesAnswer) states() string {
	var out []string
	for _, e := range a.Entries {
		if e.State == nil {
			out = append(out, e.ThirdMsgID+"=none")
			continue
		}
		out = append(out, fmt.Sprintf("%s=%s/%q/%d", e.ThirdMsgID, e.State.Status, e.State.AcknowledgedBy, e.State.Deliveries))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// TestRecordsEntryStates: the records tell each retained entry's state. A
// raw client of the user subscribes to two of three bizTypes and
// acknowledges one entry of each: the acknowledged ones name the device
// (the user, "", for the single-device bizType's), the one it left
// unacknowledged was delivered once, the one of the bizType it did not ask
// for was never delivered. Connecting again redelivers the unacknowledged
// one: retried; once more, and its retries are spent: it is dropped.
func TestRecordsEntryStates(t *testing.T) {
	// Retries come only from the reconnections below, not from the clock.
	srv := startServer(t, t.TempDir(), "--retry-interval", "10m")
	const inst, user = "ws_STATES", "sam"
	putBizType(t, srv.URL, inst, "A", map[string]any{"target": "user", "multiDevice": true, "maxRetries": 1})
	putBizType(t, srv.URL, inst, "S", map[string]any{"target": "user"}) // single-device
	putBizType(t, srv.URL, inst, "N", map[string]any{"target": "user", "multiDevice": true})
	a1 := pushOK(t, srv.URL, inst, "A", user, "a1")
	pushOK(t, srv.URL, inst, "A", user, "a2")
	s1 := pushOK(t, srv.URL, inst, "S", user, "s1")
	pushOK(t, srv.URL, inst, "N", user, "n1")

	records := func() statesAnswer {
		t.Helper()
		var a statesAnswer
		if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+inst+"/users/"+user+"/records", nil, &a); st != 200 {
			t.Fatalf("records: HTTP %d", st)
		}
		return a
	}
	if got, want := records().states(), `a1=undelivered/[]/0 a2=undelivered/[]/0 n1=undelivered/[]/0 s1=undelivered/[]/0`; got != want {
		t.Fatalf("before any client: %s, want %s", got, want)
	}

	// connect subscribes d1 to A (above after) and S (from 0), and reads
	// until it holds the entries want (thirdMsgIds, in any order).
	connect := func(after uint64, want ...string) *wireConn {
		t.Helper()
		w := dialWire(t, srv.URL, &opsyncpb.Connect{InstanceId: inst, UserId: user, DeviceId: "d1",
			BizTypes: []*opsyncpb.SyncPoint{{BizType: "A", OplogId: after}, {BizType: "S"}}})
		var got []string
		for len(got) < len(want) {
			for _, m := range w.read(t).GetDeliver().GetMessages() {
				got = append(got, m.ThirdMsgId)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("d1 received %v, want %v", got, want)
		}
		return w
	}
	// until polls the records until their states are want.
	until := func(want string) statesAnswer {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			a := records()
			if got := a.states(); got == want {
				return a
			} else if time.Now().After(deadline) {
				t.Fatalf("records: %s, want %s", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	w := connect(0, "a1", "a2", "s1")
	w.send(t, &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Ack{Ack: &opsyncpb.Ack{Received: []*opsyncpb.SyncPoint{{BizType: "A", OplogId: a1}, {BizType: "S", OplogId: s1}}}}})
	until(`a1=acknowledged/["d1"]/0 a2=delivered/[]/1 n1=undelivered/[]/0 s1=acknowledged/[""]/0`)

	// The backlog of a new connection sends a2 again (the user
	// acknowledged s1: it is not sent again): a retry. The stream counts
	// it before it sends it, so the records tell it at once.
	w.ws.CloseNow()
	w = connect(a1, "a2")
	if got, want := records().states(), `a1=acknowledged/["d1"]/0 a2=retried/[]/2 n1=undelivered/[]/0 s1=acknowledged/[""]/0`; got != want {
		t.Fatalf("after a2's redelivery: %s, want %s", got, want)
	}
	if d := records().Dropped; d != 0 {
		t.Fatalf("dropped %d before a2's retries were spent", d)
	}

	// maxRetries 1: a third delivery is not made; a2 is removed and
	// counted as dropped.
	w.ws.CloseNow()
	dialWire(t, srv.URL, &opsyncpb.Connect{InstanceId: inst, UserId: user, DeviceId: "d1",
		BizTypes: []*opsyncpb.SyncPoint{{BizType: "A", OplogId: a1}, {BizType: "S"}}})
	if a := until(`a1=acknowledged/["d1"]/0 n1=undelivered/[]/0 s1=acknowledged/[""]/0`); a.Dropped != 1 {
		t.Fatalf("a2 removed, dropped %d, want 1", a.Dropped)
	}
}
