package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// journalListed is one line of `opsync journal --data DIR list`.
type journalListed struct {
	Actor       string `json:"actor"`
	HighestSeq  uint64 `json:"highestSeq"`
	Events      int    `json:"events"`
	SnapshotSeq uint64 `json:"snapshotSeq"`
}

// journalActor lists a stopped node's journal and returns actor's line.
func journalActor(t *testing.T, dataDir, actor string) journalListed {
	t.Helper()
	out, errOut, code := run(t, "journal", "--data", dataDir, "list")
	if code != 0 {
		t.Fatalf("journal list: exit %d: %s", code, errOut)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var a journalListed
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("journal list line %q: %v", line, err)
		}
		if a.Actor == actor {
			return a
		}
	}
	t.Fatalf("journal list has no %s:\n%s", actor, out)
	return journalListed{}
}

// A stream's journal does not grow with its acks: below each snapshot only
// the retained entries stay, however old, not the sync points and removals
// written since the oldest of them.
func TestStreamJournalIsTrimmedBetweenRetainedEntries(t *testing.T) {
	const every, pushes = 20, 150
	dir := t.TempDir()
	srv := startServer(t, dir, "--snapshot-every", fmt.Sprint(every))
	const inst, user = "ws_TRIM", "tia"
	putBizType(t, srv.URL, inst, "KEEP", map[string]any{"target": "user", "multiDevice": true})
	putBizType(t, srv.URL, inst, "LIVE", map[string]any{"target": "user", "multiDevice": true, "repushMode": "threshold", "threshold": 1})
	// One old entry no client acknowledges (none registers KEEP) ...
	pushOK(t, srv.URL, inst, "KEEP", user, "kept")
	// ... then many entries, each acknowledged and removed by the next
	// (threshold 1): an entry, a sync point and a removal each.
	c := connectClient(t, srv.URL, inst, clientSpec{user: user, device: "phone", biz: []string{"LIVE"}, report: true})
	for i := range pushes {
		id := fmt.Sprint("live", i)
		pushOK(t, srv.URL, inst, "LIVE", user, id)
		receiveUntil(t, c, id)
	}
	c.Close()
	srv.stop()

	a := journalActor(t, dir, "stream:"+inst+"/u/"+user)
	// Kept: "kept", the newest LIVE entry, and what came after the latest
	// snapshot, or the one before it if its trim was cut short.
	if a.HighestSeq < 2*pushes || a.SnapshotSeq == 0 || a.Events > 2+2*every {
		t.Fatalf("stream journal %+v: want at least %d events written, a snapshot, and at most %d kept", a, 2*pushes, 2+2*every)
	}

	// The old entry is still there for a client that registers it, after
	// a restart too.
	srv = startServer(t, dir, "--snapshot-every", fmt.Sprint(every))
	d := connectClient(t, srv.URL, inst, clientSpec{user: user, device: "tablet", biz: []string{"KEEP"}, report: true})
	d.expect(t, "kept")
}
