package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// pushDeadlineAndSkew is how long after a push was sent no stream stores
// it any more: the node's request timeout (10 s) plus the 2 s a stream
// allows for clock skew and transit before it refuses a late push.
const pushDeadlineAndSkew = 12*time.Second + 500*time.Millisecond

// No split brain: the raft leader of a 3-node set is cut off from the
// other two (network namespaces, both directions). Pushes through it are
// never acknowledged, while the majority elects a new leader and goes on
// acknowledging. After the partition heals, the cut-off node catches up,
// every push the majority acknowledged is delivered through it, and none
// of the pushes it refused ever appears.
func TestIsolatedMinorityCannotAcknowledge(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes in network namespaces")
	}
	net := newNetnsSet(t, 3)
	set := newNodeSet(t, 3, net.layout())
	const inst, biz = "ws_PART", "EVENTS"
	putBizType(t, set.url(0), inst, biz, map[string]any{"target": "user"})
	key := apiKey(t, set.url(0), inst)
	httpc := &http.Client{Timeout: 30 * time.Second}
	users := []string{"p0", "p1", "p2", "p3"}
	for _, u := range users {
		if !pushOnce(httpc, set.url(0), inst, key, biz, u, u+"-before") {
			t.Fatalf("push for %s before the partition failed", u)
		}
	}

	cut := set.leader(0)
	majority := []int{(cut + 1) % 3, (cut + 2) % 3}
	t.Logf("isolating node %d, the raft leader", cut)
	net.isolate(cut)

	// Pushes through the cut-off node, for every user, concurrently.
	minoritySent := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused := map[string]bool{}
	for _, u := range users {
		for i := 0; i < 3; i++ {
			id := fmt.Sprintf("%s-minority-%d", u, i)
			wg.Add(1)
			go func(u, id string) {
				defer wg.Done()
				if pushOnce(httpc, set.url(cut), inst, key, biz, u, id) {
					t.Errorf("the isolated node acknowledged %s", id)
				}
				mu.Lock()
				refused[id] = true
				mu.Unlock()
			}(u, id)
		}
	}
	// Meanwhile the majority acknowledges again once it has a new leader.
	acked := map[string]bool{}
	for _, u := range users {
		id := u + "-majority"
		deadline := time.Now().Add(60 * time.Second)
		for !pushOnce(httpc, set.url(majority[0]), inst, key, biz, u, id) {
			if time.Now().After(deadline) {
				t.Fatalf("the majority did not acknowledge %s within 60s", id)
			}
		}
		acked[id] = true
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// A refused push may still be in flight between the nodes (protoactor
	// holds messages for an unreachable member and sends them once it is
	// reachable again), and the isolated node answers SYSTEM_ERROR at once
	// when the set drops the member its actor lived on. Such a push is
	// stored by nobody only once its deadline has passed: a stream refuses
	// a push that reaches it later than its caller's deadline plus the
	// skew allowed (README: SYSTEM_ERROR). Heal after that, so that the
	// refused pushes can be checked for never appearing.
	time.Sleep(time.Until(minoritySent.Add(pushDeadlineAndSkew)))

	net.heal(cut)
	set.waitReady(0, 1, 2)
	set.waitCaughtUp(cut, set.leader(cut))
	for _, u := range users {
		if !pushOnce(httpc, set.url(cut), inst, key, biz, u, "sentinel") {
			t.Fatalf("the healed node did not acknowledge the sentinel of %s", u)
		}
	}
	for _, u := range users {
		r := startSetReader(t, set, inst, biz, u, cut)
		r.waitSentinel(t)
		r.mu.Lock()
		got := map[string]bool{}
		for _, m := range r.got {
			got[m.ThirdMsgID] = true
		}
		r.mu.Unlock()
		for _, id := range []string{u + "-before", u + "-majority", "sentinel"} {
			if !got[id] {
				t.Errorf("%s: acknowledged %s not delivered after the partition healed", u, id)
			}
		}
		for id := range refused {
			if got[id] {
				t.Errorf("%s: %s, refused by the isolated node, appeared after the partition healed", u, id)
			}
		}
	}
}
