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

// The states of the fixture's entries, step by step.
const (
	statesPushed   = `a1=undelivered/[]/0 a2=undelivered/[]/0 n1=undelivered/[]/0 s1=undelivered/[]/0`
	statesAcked    = `a1=acknowledged/["d1"]/0 a2=delivered/[]/1 n1=undelivered/[]/0 s1=acknowledged/[""]/0`
	statesRetried  = `a1=acknowledged/["d1"]/0 a2=retried/[]/2 n1=undelivered/[]/0 s1=acknowledged/[""]/0`
	statesDropped  = `a1=acknowledged/["d1"]/0 n1=undelivered/[]/0 s1=acknowledged/[""]/0`
	statesInstance = "ws_STATES"
	statesUser     = "sam"
)

// statesFixture is a user with an entry in each state: a raw client (d1)
// of the user subscribes to A (multi-device, maxRetries 1) and S
// (single-device) but not N, is sent a1, a2, s1 and acknowledges a1 and
// s1 (ack), leaving a2 unacknowledged and n1 undelivered; connecting again
// redelivers a2 (redeliver), once more spends its retries (spend).
type statesFixture struct {
	srv    *server
	a1, s1 uint64
	w      *wireConn
}

func newStatesFixture(t *testing.T) *statesFixture {
	t.Helper()
	// Retries come only from the reconnections, not from the clock.
	f := &statesFixture{srv: startServer(t, t.TempDir(), "--retry-interval", "10m")}
	base := f.srv.URL
	putBizType(t, base, statesInstance, "A", map[string]any{"target": "user", "multiDevice": true, "maxRetries": 1})
	putBizType(t, base, statesInstance, "S", map[string]any{"target": "user"}) // single-device
	putBizType(t, base, statesInstance, "N", map[string]any{"target": "user", "multiDevice": true})
	f.a1 = pushOK(t, base, statesInstance, "A", statesUser, "a1")
	pushOK(t, base, statesInstance, "A", statesUser, "a2")
	f.s1 = pushOK(t, base, statesInstance, "S", statesUser, "s1")
	pushOK(t, base, statesInstance, "N", statesUser, "n1")
	return f
}

// connect subscribes d1 to A (above after) and S (from 0), and reads
// until it holds the entries want (thirdMsgIds, in any order).
func (f *statesFixture) connect(t *testing.T, after uint64, want ...string) {
	t.Helper()
	if f.w != nil {
		f.w.ws.CloseNow()
	}
	f.w = dialWire(t, f.srv.URL, &opsyncpb.Connect{InstanceId: statesInstance, UserId: statesUser, DeviceId: "d1",
		BizTypes: []*opsyncpb.SyncPoint{{BizType: "A", OplogId: after}, {BizType: "S"}}})
	var got []string
	for len(got) < len(want) {
		for _, m := range f.w.read(t).GetDeliver().GetMessages() {
			got = append(got, m.ThirdMsgId)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("d1 received %v, want %v", got, want)
	}
}

// ack: d1 receives a1, a2, s1 and acknowledges a1 and s1; it returns once
// the records tell it.
func (f *statesFixture) ack(t *testing.T) {
	t.Helper()
	f.connect(t, 0, "a1", "a2", "s1")
	f.w.send(t, &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Ack{Ack: &opsyncpb.Ack{Received: []*opsyncpb.SyncPoint{
		{BizType: "A", OplogId: f.a1}, {BizType: "S", OplogId: f.s1}}}}})
	f.until(t, statesAcked)
}

// redeliver: the backlog of a new connection sends a2 again (not s1: the
// user acknowledged it). The stream counts a delivery before it sends it,
// so the records tell it once d1 has it.
func (f *statesFixture) redeliver(t *testing.T) {
	t.Helper()
	f.connect(t, f.a1, "a2")
}

// spend: with maxRetries 1 a third delivery of a2 is not made: a2 is
// removed and counted as dropped. It returns once the records tell it.
func (f *statesFixture) spend(t *testing.T) {
	t.Helper()
	f.connect(t, f.a1)
	if a := f.until(t, statesDropped); a.Dropped != 1 {
		t.Fatalf("a2 removed, dropped %d, want 1", a.Dropped)
	}
}

func (f *statesFixture) records(t *testing.T) statesAnswer {
	t.Helper()
	var a statesAnswer
	if st := call(t, http.MethodGet, f.srv.URL+"/api/v1/instances/"+statesInstance+"/users/"+statesUser+"/records", nil, &a); st != 200 {
		t.Fatalf("records: HTTP %d", st)
	}
	return a
}

// until polls the records until their states are want (an ack or a
// removal is written after the client's frame is read).
func (f *statesFixture) until(t *testing.T, want string) statesAnswer {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a := f.records(t)
		got := a.states()
		if got == want {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("records: %s, want %s", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRecordsEntryStates: the records tell each retained entry's state:
// the acknowledged ones name the device (the user, "", for the
// single-device bizType's), the one left unacknowledged was delivered
// once, the one of the bizType the client did not ask for was never
// delivered. Connecting again redelivers the unacknowledged one: retried;
// once more, and its retries are spent: it is gone, and counted as
// dropped.
func TestRecordsEntryStates(t *testing.T) {
	f := newStatesFixture(t)
	if got := f.records(t).states(); got != statesPushed {
		t.Fatalf("before any client: %s, want %s", got, statesPushed)
	}
	f.ack(t)
	f.redeliver(t)
	a := f.records(t)
	if got := a.states(); got != statesRetried {
		t.Fatalf("after a2's redelivery: %s, want %s", got, statesRetried)
	}
	if a.Dropped != 0 {
		t.Fatalf("dropped %d before a2's retries were spent", a.Dropped)
	}
	f.spend(t)
}
