package e2e

import (
	"testing"
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Past the node's send budget, the connection holding the most for its
// client is shed first, with 4431, not the one whose delivery crossed the
// line; the others keep theirs.
func TestSendBudgetShedsTheSlowestFirst(t *testing.T) {
	// Each window is 256 KiB; the budget takes one full window and a bit.
	srv := memServer(t, t.TempDir(), "--send-budget", "400KiB")
	const inst, biz = "ws_SHED", "LOCK"
	putBizType(t, srv.URL, inst, biz, map[string]any{"target": "device"})
	backlogs := map[string]int{"big": 100, "small1": 20, "small2": 20} // entries of 4 KB
	for device, n := range backlogs {
		pushBacklog(t, srv.URL, inst, biz, device, n, 4000)
	}
	connect := func(device string) *wireConn {
		w := dialWire(t, srv.URL, &opsyncpb.Connect{InstanceId: inst, DeviceId: device, BizTypes: []*opsyncpb.SyncPoint{{BizType: biz}}})
		w.ws.SetReadLimit(16 << 20) // as the Go client: deliveries leave together
		return w
	}
	held := func() float64 { return metricValue(t, srv.URL, "opsync_send_queue_bytes") }
	// None of them acknowledges: each holds what it was handed.
	big := connect("big")
	waitFor(t, "the big client's window delivered", time.Minute, func() bool { return held() > 200<<10 })
	small1 := connect("small1")
	waitFor(t, "the first small backlog delivered", time.Minute, func() bool { return held() > 280<<10 })
	if shed := metricValue(t, srv.URL, "opsync_send_shed_total"); shed != 0 {
		t.Fatalf("%v connections shed within the budget", shed)
	}
	small2 := connect("small2") // over the budget now
	waitFor(t, "a connection shed", time.Minute, func() bool { return metricValue(t, srv.URL, "opsync_send_shed_total") == 1 })

	// The big one reads what it was sent, then the close.
	big.wantClose(t, 4431, "shed: node memory budget")
	// The others are still served: they read their backlogs and a new entry.
	for _, c := range []struct {
		w      *wireConn
		device string
	}{{small1, "small1"}, {small2, "small2"}} {
		pushOK(t, srv.URL, inst, biz, c.device, "live")
		got := 0
		for last := ""; last != "live"; {
			for _, m := range c.w.read(t).GetDeliver().GetMessages() {
				got++
				last = m.ThirdMsgId
			}
		}
		if want := backlogs[c.device] + 1; got != want {
			t.Fatalf("%s read %d messages, want %d", c.device, got, want)
		}
	}
	if shed := metricValue(t, srv.URL, "opsync_send_shed_total"); shed != 1 {
		t.Fatalf("%v connections shed, want 1", shed)
	}
}
