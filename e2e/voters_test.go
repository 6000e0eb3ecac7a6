package e2e

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/opsync/opsync/internal/edge"
)

// Raft voters change through the CLI (the admin API), on any node: a
// fourth node started without bootstrap joins as a voter and catches up
// from the log, serves pushes and clients with the whole journal; a voter
// is removed and then stopped, and the set goes on without it.
func TestVotersChangeThroughTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four nodes")
	}
	set := planNodeSet(t, 4, 3, loopbackLayout(t, 4), "")
	for i := 0; i < 3; i++ {
		set.start(i)
	}
	set.waitReady(0, 1, 2)
	const inst, biz = "ws_VOTERS", "EVENTS"
	putBizType(t, set.url(0), inst, biz, map[string]any{"target": "user", "multiDevice": true})
	for i := 0; i < 20; i++ {
		id := fmt.Sprintf("v1-%06d", i)
		pushOK(t, set.url(i%3), inst, biz, "v1", id, "payload", id)
	}

	set.start(3)
	out, errOut, code := run(t, "cluster", "add-voter", "--server", set.url(1), "--id", set.nodes[3].remote, "--raft-address", set.nodes[3].raft)
	if code != 0 {
		t.Fatalf("cluster add-voter: exit %d: %s", code, errOut)
	}
	if voters := votersOf(t, out); len(voters) != 4 || !voters[set.nodes[3].remote] {
		t.Fatalf("after add-voter the voters are %v", voters)
	}
	set.waitReady(0, 1, 2, 3)
	set.waitCaughtUp(3, set.leader(0))
	id := "v1-000020"
	pushOK(t, set.url(3), inst, biz, "v1", id, "payload", id)
	pushOK(t, set.url(3), inst, biz, "v1", "sentinel")
	r := startSetReader(t, set, inst, biz, "v1", 3)
	r.waitSentinel(t)
	want, sent := map[string]uint64{}, map[string]bool{}
	for i := 0; i <= 20; i++ {
		id := fmt.Sprintf("v1-%06d", i)
		want[id], sent[id] = 0, true
	}
	r.check(t, want, sent)

	// Remove node 0 through node 3, then stop it: three voters remain.
	out, errOut, code = run(t, "cluster", "remove-voter", "--server", set.url(3), "--id", set.nodes[0].remote)
	if code != 0 {
		t.Fatalf("cluster remove-voter: exit %d: %s", code, errOut)
	}
	if voters := votersOf(t, out); len(voters) != 3 || voters[set.nodes[0].remote] {
		t.Fatalf("after remove-voter the voters are %v", voters)
	}
	set.kill9(0)
	set.waitReady(1, 2, 3)
	pushOK(t, set.url(2), inst, biz, "v1", "after-removal")

	out, errOut, code = run(t, "cluster", "status", "--server", set.url(2))
	if code != 0 {
		t.Fatalf("cluster status: exit %d: %s", code, errOut)
	}
	var st edge.ClusterStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Journal != "raft" || len(st.Members) != 3 {
		t.Fatalf("cluster status: %v %+v", err, st)
	}
}

// votersOf reads the voter ids from a cluster command's JSON answer.
func votersOf(t *testing.T, out string) map[string]bool {
	t.Helper()
	var st edge.ClusterStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("cluster answer %q: %v", out, err)
	}
	voters := map[string]bool{}
	for _, s := range st.Servers {
		if s.Suffrage == "Voter" {
			voters[s.ID] = true
		}
	}
	return voters
}
