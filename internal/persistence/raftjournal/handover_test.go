package raftjournal

import (
	"testing"
	"time"
)

// A leader that closes gracefully hands leadership over first: when Close
// returns, another voter already leads, although the election timeout is
// far longer than the test takes to look (without the handover the
// followers would still be waiting for heartbeats).
func TestCloseHandsLeadershipOver(t *testing.T) {
	c := newCluster(t, t.TempDir(), 3, func(cfg *Config) {
		cfg.HeartbeatTimeout = 2 * time.Second
		cfg.ElectionTimeout = 2 * time.Second
		cfg.LeaderLeaseTimeout = 500 * time.Millisecond
	})
	defer c.close()
	old := c.leader()
	c.stop(old.i)
	var leaders []int
	for _, n := range c.running() {
		if n.store.IsLeader() {
			leaders = append(leaders, n.i)
		}
	}
	if len(leaders) != 1 {
		t.Fatalf("right after the leader (node %d) closed, running leaders are %v; want exactly one", old.i, leaders)
	}
}
