package raftjournal

import (
	"context"
	"testing"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/internal/persistence/journaltest"
)

// The conformance suite against a follower's store: every write is
// forwarded to the leader, every read waits for the follower's replica.
func TestConformanceFollower(t *testing.T) {
	journaltest.Run(t, journaltest.Harness{Open: func(t *testing.T, dir string) persistence.Store {
		c := newCluster(t, dir, 3, nil)
		return barrier(t, clusterStore{c.follower().store, c})
	}})
}

// The conformance suite against the leader's store.
func TestConformanceLeader(t *testing.T) {
	journaltest.Run(t, journaltest.Harness{Open: func(t *testing.T, dir string) persistence.Store {
		c := newCluster(t, dir, 3, nil)
		return barrier(t, clusterStore{c.leader().store, c})
	}})
}

// barrier passes a read barrier on s before the suite reads, as an actor
// does before it recovers: a node just restarted may not have re-applied
// the newest entries to its replica yet.
func barrier(t *testing.T, s clusterStore) clusterStore {
	t.Helper()
	if err := s.ReadBarrier(context.Background()); err != nil {
		s.Close()
		t.Fatalf("ReadBarrier: %v", err)
	}
	return s
}
