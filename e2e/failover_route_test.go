package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A member of a set stops answering (SIGSTOP: its process hangs, as a dead
// host does, without closing its connections) while pushes through
// another node wait on it: pushes to streams activated on it, and pushes
// to new streams whose identity lookup asks it. Once the set drops it,
// each of them is answered by the path that does not wait for the dead
// member: the lookups are asked again of the new owners (and the pushes
// stored), the pushes that reached it fail at once (their outcome is
// unknown: SYSTEM_ERROR), and sent again with the same thirdMsgId they
// are stored on the stream's new activation. Before, they waited out
// protoactor's fixed 5 s lookup or the whole 10 s request timeout.
func TestSetReroutesPushesWaitingOnAMemberThatLeft(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	set := newNodeSet(t, 3, loopbackLayout(t, 3))
	const inst, biz, users = "ws_REROUTE", "EVENTS", 30
	putBizType(t, set.url(0), inst, biz, map[string]any{"target": "user"})
	key := apiKey(t, set.url(0), inst)
	// The victim is a raft follower, so that the journal keeps its leader
	// and only routing is at stake; pushes go through the third node.
	leader := set.leader(0)
	victim, entry := (leader+1)%3, (leader+2)%3
	base := set.url(entry)
	httpc := &http.Client{Timeout: 60 * time.Second}
	// 30 streams activated now; about a third of them on the victim.
	for u := 0; u < users; u++ {
		if msg := pushMsg(httpc, base, inst, key, biz, fmt.Sprintf("old%d", u), "first"); msg != "SUCCESS" {
			t.Fatalf("push to old%d: %s", u, msg)
		}
	}

	victimSrv := set.nodes[victim].srv
	if err := victimSrv.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = victimSrv.cmd.Process.Signal(syscall.SIGCONT) })
	type result struct{ user, msg string }
	results := make(chan result, 2*users)
	var wg sync.WaitGroup
	for u := 0; u < users; u++ {
		for _, user := range []string{fmt.Sprintf("old%d", u), fmt.Sprintf("new%d", u)} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results <- result{user, pushMsg(httpc, base, inst, key, biz, user, "second")}
			}()
		}
	}
	wg.Wait()
	close(results)
	var failed []string
	for r := range results {
		switch r.msg {
		case "SUCCESS":
		case "SYSTEM_ERROR":
			failed = append(failed, r.user)
		default:
			t.Fatalf("push to %s while a member hung: %s", r.user, r.msg)
		}
	}
	rerouted := metricValue(t, base, `opsync_route_member_left_total{action="rerouted"}`)
	failedFast := metricValue(t, base, `opsync_route_member_left_total{action="failed"}`)
	t.Logf("%d of %d pushes answered SYSTEM_ERROR (%v); route: %v rerouted, %v failed at once", len(failed), 2*users, failed, rerouted, failedFast)
	if rerouted == 0 || failedFast == 0 {
		t.Fatalf("the route took neither or only one of the paths past the member that left: rerouted %v, failed %v", rerouted, failedFast)
	}
	if len(failed) == 0 {
		t.Fatalf("no push waited on the hung member")
	}
	// A push answered SYSTEM_ERROR may or may not be stored: sent again
	// with its thirdMsgId, it is stored once.
	for _, user := range failed {
		if msg := pushMsg(httpc, base, inst, key, biz, user, "second"); msg != "SUCCESS" && msg != "DUPLICATED_BIZ_ID" {
			t.Fatalf("push to %s sent again: %s", user, msg)
		}
	}
}

// pushMsg pushes (pushWith) and returns the answer's msg, or the error.
func pushMsg(httpc *http.Client, base, inst, key, biz, user, id string) string {
	a, err := pushWith(httpc, base, inst, key, biz, user, id)
	if err != nil {
		return err.Error()
	}
	return a.Msg
}
