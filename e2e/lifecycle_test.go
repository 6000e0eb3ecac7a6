package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// activations reads the node's activation counts from /healthz.
func activations(t *testing.T, base string) map[string]int {
	t.Helper()
	var h struct {
		OK          bool           `json:"ok"`
		Activations map[string]int `json:"activations"`
	}
	if st := call(t, http.MethodGet, base+"/healthz", nil, &h); st != 200 || !h.OK {
		t.Fatalf("healthz: %d %+v", st, h)
	}
	return h.Activations
}

// waitFor polls cond (an observable state of the server, not a guess at
// timing) until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An idle stream actor passivates; the next push activates it again from
// its journal and snapshot: ids continue, idempotency keys are remembered,
// and the journal holds a snapshot every N events.
func TestPassivationAndSnapshots(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServer(t, dataDir, "--passivate-after", "300ms", "--snapshot-every", "10")
	const inst, biz, user = "ws_LIFE", "NOTES", "u9"
	putBizType(t, srv.URL, inst, biz, map[string]any{})

	var last uint64
	for i := 0; i < 25; i++ {
		st, a := push(t, srv.URL, inst, map[string]any{"bizType": biz, "linkToken": user, "thirdMsgId": fmt.Sprint(i), "payload": "x"})
		if st != 200 || a.Msg != "SUCCESS" || a.OplogID <= last {
			t.Fatalf("push %d: %d %+v after id %d", i, st, a, last)
		}
		last = a.OplogID
	}
	if n := activations(t, srv.URL)["stream"]; n != 1 {
		t.Fatalf("%d stream actors active after pushes to one user, want 1", n)
	}
	waitFor(t, "the idle stream to passivate", 30*time.Second, func() bool { return activations(t, srv.URL)["stream"] == 0 })

	_, dup := push(t, srv.URL, inst, map[string]any{"bizType": biz, "linkToken": user, "thirdMsgId": "3", "payload": "again"})
	if dup.Msg != "DUPLICATED_BIZ_ID" {
		t.Fatalf("repeat after reactivation answered %+v, want DUPLICATED_BIZ_ID", dup)
	}
	_, next := push(t, srv.URL, inst, map[string]any{"bizType": biz, "linkToken": user, "thirdMsgId": "new", "payload": "x"})
	if next.Msg != "SUCCESS" || next.OplogID != last+1 {
		t.Fatalf("push after reactivation: %+v, want SUCCESS with oplog id %d", next, last+1)
	}

	// Stop the node and read the journal offline: the stream has a
	// snapshot (the first after 10 events, later ones amortized over their
	// size: journaled.go) and every event.
	srv.kill()
	out, err := exec.Command(opsyncBin, "journal", "--data", dataDir, "list").Output()
	if err != nil {
		t.Fatalf("journal list: %v", err)
	}
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var a struct {
			Actor       string `json:"actor"`
			HighestSeq  uint64 `json:"highestSeq"`
			Events      int    `json:"events"`
			SnapshotSeq uint64 `json:"snapshotSeq"`
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("journal list line %q: %v", line, err)
		}
		if a.Actor == "stream:"+inst+"/u/"+user {
			found = true
			if a.HighestSeq != last+1 || a.Events != int(last+1) || a.SnapshotSeq < 10 || a.SnapshotSeq > last {
				t.Fatalf("stream journal %+v: want highest %d, %d events, a snapshot at 10 or later", a, last+1, last+1)
			}
		}
	}
	if !found {
		t.Fatalf("journal list has no stream of %s:\n%s", user, out)
	}
}

// A dormant stream (passivated, no client) still loses its expired
// entries: the retention sweeper wakes it.
func TestSweeperDeletesExpiredEntriesOfDormantStreams(t *testing.T) {
	// Ticks every 50 ms look only 0.5 s ahead, so the stream does not stay
	// awake for an entry expiring in 1.5 s: only the sweeper can remove it.
	srv := startServer(t, t.TempDir(), "--passivate-after", "200ms", "--retry-interval", "100ms", "--sweep-interval", "1s")
	const inst, user = "ws_SWEEP", "sam"
	putBizType(t, srv.URL, inst, "COUPON", map[string]any{"target": "user"})
	expiry := time.Now().Add(1500 * time.Millisecond)
	pushOK(t, srv.URL, inst, "COUPON", user, "gone", "validTimeEnd", expiry.UnixMilli())
	pushOK(t, srv.URL, inst, "COUPON", user, "kept")
	waitFor(t, "the stream to passivate", 30*time.Second, func() bool { return activations(t, srv.URL)["stream"] == 0 })
	if time.Now().After(expiry) {
		t.Skip("the machine was too slow to passivate the stream before the entry expired")
	}
	before := metricValue(t, srv.URL, "opsync_journal_events_total")
	waitFor(t, "the sweeper to remove the expired entry", 30*time.Second, func() bool {
		return metricValue(t, srv.URL, "opsync_journal_events_total") > before
	})
	srv.kill()
	out, errOut, code := run(t, "journal", "--data", srv.DataDir, "dump", "stream:"+inst+"/u/"+user)
	if code != 0 {
		t.Fatalf("journal dump: %d %s", code, errOut)
	}
	if strings.Contains(out, `"gone"`) || !strings.Contains(out, `"kept"`) || !strings.Contains(out, `"entriesRemoved"`) {
		t.Fatalf("journal after the sweep:\n%s", out)
	}
}
