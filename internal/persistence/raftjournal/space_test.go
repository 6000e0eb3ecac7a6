package raftjournal

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opsync/opsync/internal/persistence"
)

// A leader whose disk is below the space guard's floor refuses appends and
// snapshots before proposing them, whichever node they come from, and
// stays up; deletes go on; once space is back, appends are taken again.
func TestLeaderBelowFloorRefusesGrowth(t *testing.T) {
	var free atomic.Uint64
	free.Store(1 << 30)
	guard := persistence.NewSpaceGuard(persistence.SpaceOptions{Dir: "test", Reserve: 64 << 20,
		Free: func() (uint64, error) { return free.Load(), nil }})
	guard.Sample()
	c := startCluster(&testCluster{t: t, dir: t.TempDir(), space: guard}, 3)
	defer c.close()
	leader, follower := c.leader(), c.follower()
	if err := follower.store.Append(bg, "a", 1, [][]byte{[]byte("one")}); err != nil {
		t.Fatal(err)
	}

	free.Store(1 << 20) // below the floor (16 MiB)
	guard.Sample()
	for _, n := range []*testNode{leader, follower} {
		err := n.store.Append(bg, "a", 2, [][]byte{[]byte("two")})
		if err == nil || !strings.Contains(err.Error(), "disk space low") {
			t.Fatalf("append through node %d below the floor: %v", n.i, err)
		}
		if errors.Is(err, ErrUnknownOutcome) {
			t.Fatalf("append through node %d: a refusal before proposing is no unknown outcome: %v", n.i, err)
		}
		if err := n.store.SaveSnapshot(bg, "a", 1, []byte("s")); err == nil {
			t.Fatalf("snapshot through node %d below the floor was taken", n.i)
		}
	}
	if err := follower.store.DeleteRange(bg, "a", 1, 1); err != nil {
		t.Fatalf("delete below the floor: %v", err)
	}

	free.Store(1 << 30)
	guard.Sample()
	if err := follower.store.Append(bg, "a", 2, [][]byte{[]byte("two")}); err != nil {
		t.Fatalf("append once space is back: %v", err)
	}
	c.converge()
	for _, n := range c.nodes {
		if seqs, _, h := journalOf(t, n, "a"); h != 2 || len(seqs) != 1 || seqs[0] != 2 {
			t.Fatalf("node %d: seqs %v highest %d, want [2] and 2", n.i, seqs, h)
		}
	}
}
