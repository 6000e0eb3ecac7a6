package e2e

import (
	"testing"
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// nextDelivered reads frames until a Deliver, and returns its messages'
// thirdMsgIds.
func (c *wireConn) nextDelivered(t *testing.T) []string {
	t.Helper()
	for {
		if d := c.read(t).GetDeliver(); d != nil {
			var ids []string
			for _, m := range d.Messages {
				ids = append(ids, m.ThirdMsgId)
			}
			return ids
		}
	}
}

// An entry's retries are counted across a kill -9 of the node: with
// maxRetries 2, a client that never acknowledges receives it 3 times in
// all, before and after the crash, then it is dropped.
func TestRetriesAreCountedAcrossKill9(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "--retry-interval", "300ms")
	const inst, user = "ws_RETRYKILL", "rk"
	putBizType(t, srv.URL, inst, "ALERT", map[string]any{"target": "user", "multiDevice": true, "maxRetries": 2})
	putBizType(t, srv.URL, inst, "OTHER", map[string]any{"target": "user", "multiDevice": true})
	connect := &opsyncpb.Connect{InstanceId: inst, UserId: user, DeviceId: "phone", BizTypes: []*opsyncpb.SyncPoint{{BizType: "ALERT"}}}

	c := dialWire(t, srv.URL, connect)
	pushOK(t, srv.URL, inst, "ALERT", user, "r1")
	deliveries := 0
	for deliveries < 2 { // the first delivery and a retry
		if got := c.nextDelivered(t); len(got) != 1 || got[0] != "r1" {
			t.Fatalf("delivery %d: %v, want r1", deliveries+1, got)
		}
		deliveries++
	}
	// A push to the same stream is written after the retry's count (the
	// stream's appends are in order): once it is acknowledged, so is the
	// count. Then the node dies between two retries.
	pushOK(t, srv.URL, inst, "OTHER", user, "marker")
	srv.kill9()

	srv = startServer(t, dir, "--retry-interval", "300ms")
	c = dialWire(t, srv.URL, connect)
	// One delivery is left (3 in all); then the entry is dropped, and the
	// next entry is all the client gets.
	if got := c.nextDelivered(t); len(got) != 1 || got[0] != "r1" {
		t.Fatalf("delivery after the restart: %v, want r1", got)
	}
	waitFor(t, "the entry to be dropped", 30*time.Second, func() bool { return records(t, srv.URL, inst, "users", user).Dropped == 1 })
	pushOK(t, srv.URL, inst, "ALERT", user, "after")
	if got := c.nextDelivered(t); len(got) != 1 || got[0] != "after" {
		t.Fatalf("after the drop the client got %v, want only the next entry (r1 was delivered 3 times already)", got)
	}
}
