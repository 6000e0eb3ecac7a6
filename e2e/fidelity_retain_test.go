package e2e

import (
	"net/http"
	"testing"
	"time"
)

// The source accepts a push only once: after its entry was trimmed
// (threshold), expired (validTimeEnd) or dropped (retries exhausted), and
// after a restart of the node, a repeat of bizType + linkToken +
// thirdMsgId stores nothing, answers DUPLICATED_BIZ_ID with the first
// push's oplog id, and is never delivered again.
func TestRetainDuplicateAfterRemovalAndRestart(t *testing.T) {
	dir := t.TempDir()
	// Ticks every 200 ms (expiry, retries); a snapshot every 3 events, so
	// that the restart recovers from a snapshot and a journal tail.
	flags := []string{"--retry-interval", "400ms", "--snapshot-every", "3"}
	srv := startServer(t, dir, flags...)
	const inst, user = "ws_RETAIN", "rex"
	putBizType(t, srv.URL, inst, "PRICE", map[string]any{"target": "user", "repushMode": "threshold", "threshold": 1})
	putBizType(t, srv.URL, inst, "COUPON", map[string]any{"target": "user"})
	putBizType(t, srv.URL, inst, "ALERT", map[string]any{"target": "user", "multiDevice": true})

	first := map[string]uint64{
		"p1": pushOK(t, srv.URL, inst, "PRICE", user, "p1"),
		"c1": pushOK(t, srv.URL, inst, "COUPON", user, "c1", "validTimeEnd", time.Now().UnixMilli()+500),
	}
	pushOK(t, srv.URL, inst, "PRICE", user, "p2") // trims p1

	// A client that never acknowledges: a1 is delivered 1 + 6 times, then
	// dropped (at the retry after the last, while it is attached).
	deaf := connectClient(t, srv.URL, inst, clientSpec{user: user, device: "deaf", biz: []string{"ALERT"}})
	first["a1"] = pushOK(t, srv.URL, inst, "ALERT", user, "a1")
	for i := 0; i < 7; i++ {
		if m := deaf.next(t); m.ThirdMsgID != "a1" {
			t.Fatalf("delivery %d is %q", i+1, m.ThirdMsgID)
		}
	}
	waitFor(t, "p1 trimmed, c1 expired, a1 dropped", 30*time.Second, func() bool {
		rec := records(t, srv.URL, inst, "users", user)
		return rec.Dropped == 1 && len(rec.Entries) == 1 && rec.Entries[0].ThirdMsgID == "p2"
	})
	deaf.Close()

	repeat := func(biz, msgID string) {
		t.Helper()
		st, a := push(t, srv.URL, inst, map[string]any{"bizType": biz, "linkToken": user, "thirdMsgId": msgID, "payload": "again"})
		if st != 200 || !a.Success || a.Msg != "DUPLICATED_BIZ_ID" || a.OplogID != first[msgID] {
			t.Fatalf("repeat of %s: %d %+v, want DUPLICATED_BIZ_ID with oplogId %d", msgID, st, a, first[msgID])
		}
	}
	repeat("PRICE", "p1")
	repeat("COUPON", "c1")
	repeat("ALERT", "a1")

	srv.kill()
	srv = startServer(t, dir, flags...)
	repeat("PRICE", "p1")
	repeat("COUPON", "c1")
	repeat("ALERT", "a1")

	// Nothing of the repeats was stored: a new device gets p2 and what
	// comes after it.
	c := connectClient(t, srv.URL, inst, clientSpec{user: user, device: "new", biz: []string{"PRICE", "COUPON", "ALERT"}, report: true})
	c.expect(t, "p2")
	pushOK(t, srv.URL, inst, "ALERT", user, "sentinel")
	c.expect(t, "sentinel")
}

// The records count what happened over the last 30 days, not what is
// still stored: pushes whose entries were trimmed, non-persistent pushes
// and global pushes (a push to every user), and their arrivals, also
// after a kill -9 of the node.
func TestRecordsCountWhatHappenedAcrossKill9(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	const inst, user = "ws_COUNT", "amy"
	putBizType(t, srv.URL, inst, "PRICE", map[string]any{"target": "user", "repushMode": "threshold", "threshold": 1})
	putBizType(t, srv.URL, inst, "TYPING", map[string]any{"target": "user", "persistent": false})
	putBizType(t, srv.URL, inst, "NEWS", map[string]any{"scope": "global", "pushToOnline": true})

	for _, id := range []string{"t1", "t2", "t3"} {
		pushOK(t, srv.URL, inst, "PRICE", user, id)
	}
	c := connectClient(t, srv.URL, inst, clientSpec{user: user, device: "amy-phone", biz: []string{"PRICE", "TYPING", "NEWS"}, report: true})
	c.expect(t, "t3") // t1 and t2 were trimmed before anyone got them
	// A non-persistent push goes to the clients attached at that moment.
	waitFor(t, "the client to attach to its stream", 30*time.Second, func() bool { return records(t, srv.URL, inst, "users", user).Connected })
	pushOK(t, srv.URL, inst, "TYPING", user, "k1")
	c.expect(t, "k1")
	var a pushAnswer
	if st := call(t, http.MethodPost, srv.URL+"/webapi/sync/global?instanceId="+inst, map[string]any{"bizType": "NEWS", "thirdMsgId": "n1", "payload": "n1"}, &a); st != 200 || a.Msg != "SUCCESS" {
		t.Fatalf("global push: %d %+v", st, a)
	}
	c.expect(t, "n1")

	// 3 trimmed-or-kept pushes + 1 non-persistent + 1 global; t3, k1 and
	// n1 arrived.
	want := func(rec recordsAnswer) bool {
		return rec.Pushes == 5 && rec.GlobalPushes == 1 && rec.Arrivals == 3 && len(rec.Entries) == 1
	}
	waitFor(t, "the records to count every push and arrival", 30*time.Second, func() bool { return want(records(t, srv.URL, inst, "users", user)) })
	// Another user got no push of their own, but the global one is a push
	// to every user.
	if rec := records(t, srv.URL, inst, "users", "bob"); rec.Pushes != 1 || rec.GlobalPushes != 1 || rec.Arrivals != 0 {
		t.Fatalf("records of a user without pushes: %+v, want the global push only", rec)
	}

	c.Close()
	srv.kill9()
	srv = startServer(t, dir)
	if rec := records(t, srv.URL, inst, "users", user); !want(rec) {
		t.Fatalf("records after kill -9: %+v, want 5 pushes (1 global) and 3 arrivals", rec)
	}
}
