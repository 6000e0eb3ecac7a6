package cluster

import (
	"encoding/json"
	"net/http"
	"time"

	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/automanaged"
)

// protoactor blocks a member that failed a health check for good: when a
// partition heals, both sides keep refusing each other's member ids, and
// the set never forms again by itself; one missed poll (a pause under load)
// leaves two members with different views of the set. A member that sees
// blocked members answering again therefore asks to be restarted: a new
// process joins with a new member id, and its journal replica catches up
// through raft. The smaller side (blocked peers at least as many as the
// members it still has) asks at once; a member on the larger side asks
// only if the blocked peers are still there after patienceRounds polls, so
// that after a partition heals only the minority restarts (its new id
// is not blocked), while a one-sided block still ends.
const patienceRounds = 5

type rejoinWatch struct {
	seeds    []string
	interval time.Duration
	client   *http.Client
	needed   chan struct{}
	stop     chan struct{}
}

func newRejoinWatch(seeds []string, interval time.Duration) *rejoinWatch {
	return &rejoinWatch{seeds: seeds, interval: interval, client: &http.Client{Timeout: interval},
		needed: make(chan struct{}), stop: make(chan struct{})}
}

func (w *rejoinWatch) run(c *pcluster.Cluster) {
	t := time.NewTicker(2 * w.interval)
	defer t.Stop()
	rounds := 0 // consecutive polls that found blocked members alive
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		blockedAlive := 0
		for _, seed := range w.seeds {
			if id, ok := w.memberAt(seed); ok && c.Remote.BlockList().IsBlocked(id) {
				blockedAlive++
			}
		}
		if blockedAlive == 0 {
			rounds = 0
			continue
		}
		rounds++
		if blockedAlive >= c.MemberList.Length() || rounds >= patienceRounds {
			close(w.needed) // run is its only writer, and returns here
			return
		}
	}
}

// memberAt asks a seed which member answers there.
func (w *rejoinWatch) memberAt(seed string) (string, bool) {
	resp, err := w.client.Get("http://" + seed + "/_health")
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var n automanaged.NodeModel
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&n) != nil {
		return "", false
	}
	return n.ID, n.ID != ""
}

func (w *rejoinWatch) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
}
