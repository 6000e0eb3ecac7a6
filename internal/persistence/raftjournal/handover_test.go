package raftjournal

import (
	"testing"
	"time"
)

// A leader that closes gracefully hands leadership over first: right after
// Close returns another voter leads, well before the election timeout
// (without the handover the followers would still be waiting for
// heartbeats).
func TestCloseHandsLeadershipOver(t *testing.T) {
	c := newCluster(t, t.TempDir(), 3, func(cfg *Config) {
		cfg.HeartbeatTimeout = 2 * time.Second
		cfg.ElectionTimeout = 2 * time.Second
		cfg.LeaderLeaseTimeout = 500 * time.Millisecond
	})
	defer c.close()
	old := c.leader()
	c.stop(old.i)
	// The new leader may take a moment to see itself as one (its election
	// round trip); without the handover there would be none before the
	// followers' 2 s heartbeat timeout, so half of it tells them apart.
	closed := time.Now()
	var leaders []int
	for {
		leaders = leaders[:0]
		for _, n := range c.running() {
			if n.store.IsLeader() {
				leaders = append(leaders, n.i)
			}
		}
		if len(leaders) == 1 || time.Since(closed) > time.Second {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(leaders) != 1 {
		t.Fatalf("within 1 s after the leader (node %d) closed, running leaders are %v; want exactly one", old.i, leaders)
	}
}
