package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// Pushes answered SUCCESS survive kill -9: after a restart on the same
// directory, a client resuming from its saved sync point gets exactly the
// entries after it, and a client with none gets them all.
func TestKill9KeepsAcknowledgedPushes(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServer(t, dataDir)
	const inst, biz, user = "ws_CRASH", "ORDERS", "buyer-7"
	// Multi-device: every device syncs from its own sync point.
	putBizType(t, srv.URL, inst, biz, map[string]any{"target": "user", "multiDevice": true})

	const total, acked = 300, 120
	ids := make([]uint64, 0, total)
	pushN := func(base string, from, to int) {
		for i := from; i < to; i++ {
			st, a := push(t, base, inst, map[string]any{"bizType": biz, "linkToken": user, "thirdMsgId": fmt.Sprintf("order-%d", i), "payload": fmt.Sprintf("payload %d", i)})
			if st != 200 || a.Msg != "SUCCESS" {
				t.Fatalf("push %d: %d %+v", i, st, a)
			}
			ids = append(ids, a.OplogID)
		}
	}
	pushN(srv.URL, 0, acked)

	// A client reads and acknowledges the first entries, saving its sync
	// point in a state file.
	state := filepath.Join(t.TempDir(), "state.json")
	first := startTail(t, srv.URL, inst, "--user", user, "--device", "phone", "--biz", biz, "--state", state, "--count", fmt.Sprint(acked)).collect(t, time.Minute)
	if len(first) != acked || first[acked-1].OplogID != ids[acked-1] {
		t.Fatalf("first tail got %d entries", len(first))
	}

	pushN(srv.URL, acked, total)
	srv.kill9()

	srv2 := startServer(t, dataDir)
	// The resuming client gets exactly the entries after its sync point:
	// the sentinel pushed after the restart must come right after them.
	resumed := startTail(t, srv2.URL, inst, "--user", user, "--device", "phone", "--biz", biz, "--state", state, "--count", fmt.Sprint(total-acked+1))
	st, a := push(t, srv2.URL, inst, map[string]any{"bizType": biz, "linkToken": user, "thirdMsgId": "after-restart", "payload": "new"})
	if st != 200 || a.Msg != "SUCCESS" {
		t.Fatalf("push after restart: %d %+v", st, a)
	}
	if a.OplogID <= ids[total-1] {
		t.Fatalf("after restart the oplog id %d reuses an id at or below %d", a.OplogID, ids[total-1])
	}
	lines := resumed.collect(t, time.Minute)
	if len(lines) != total-acked+1 {
		t.Fatalf("resumed client got %d entries, want %d", len(lines), total-acked+1)
	}
	for i, l := range lines[:total-acked] {
		want := fmt.Sprintf("order-%d", acked+i)
		if l.ThirdMsgID != want || l.OplogID != ids[acked+i] || l.Payload != fmt.Sprintf("payload %d", acked+i) {
			t.Fatalf("resumed entry %d = %+v, want %s with oplog id %d", i, l, want, ids[acked+i])
		}
	}
	if last := lines[len(lines)-1]; last.ThirdMsgID != "after-restart" {
		t.Fatalf("resumed client's last entry %q, want after-restart", last.ThirdMsgID)
	}

	// A client with no sync point (a new install) gets everything.
	fresh := startTail(t, srv2.URL, inst, "--user", user, "--device", "tablet", "--biz", biz, "--count", fmt.Sprint(total+1)).collect(t, time.Minute)
	for i := 0; i < total; i++ {
		if fresh[i].ThirdMsgID != fmt.Sprintf("order-%d", i) || fresh[i].OplogID != ids[i] {
			t.Fatalf("fresh client entry %d = %+v", i, fresh[i])
		}
	}
}
