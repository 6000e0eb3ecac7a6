package raftjournal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsync/opsync/internal/persistence"
)

var bg = context.Background()

// journalOf replays all of actor on n.
func journalOf(t testing.TB, n *testNode, actor string) (seqs []uint64, events []string, highest uint64) {
	t.Helper()
	highest, err := n.store.Replay(bg, actor, 1, persistence.MaxSeq, -1, func(seq uint64, e []byte) error {
		seqs = append(seqs, seq)
		events = append(events, string(e))
		return nil
	})
	if err != nil {
		t.Fatalf("node %d: replay %q: %v", n.i, actor, err)
	}
	return seqs, events, highest
}

// writer appends unique values to one actor through one node, as an actor
// would: on an error whose outcome is unknown it re-reads the journal
// (after a read barrier) and goes on from its highest seq.
type writer struct {
	actor string
	acked map[uint64]string // seq -> value, acknowledged appends
	sent  map[string]bool
	count atomic.Int64
}

func (w *writer) run(ctx context.Context, t testing.TB, n *testNode) {
	w.acked, w.sent = map[uint64]string{}, map[string]bool{}
	next := uint64(1)
	for i := 0; ctx.Err() == nil; i++ {
		v := fmt.Sprintf("%s/%d", w.actor, i)
		w.sent[v] = true
		err := n.store.Append(ctx, w.actor, next, [][]byte{[]byte(v)})
		if err == nil {
			w.acked[next] = v
			next++
			w.count.Add(1)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		// Unknown outcome or a conflict: recover the next seq.
		for ctx.Err() == nil {
			if err := n.store.ReadBarrier(ctx); err != nil {
				continue
			}
			h, err := n.store.HighestSeq(ctx, w.actor)
			if err == nil {
				next = h + 1
				break
			}
		}
	}
}

// check verifies the Jepsen queue properties on node n: every acknowledged
// value at its seq, nothing unexpected, nothing twice, no holes.
func (w *writer) check(t testing.TB, n *testNode) {
	t.Helper()
	seqs, events, highest := journalOf(t, n, w.actor)
	if !slices.Equal(seqs, seqRange(1, highest)) {
		t.Fatalf("node %d: %q has seqs %v, want 1..%d without holes", n.i, w.actor, seqs, highest)
	}
	seen := map[string]bool{}
	for i, e := range events {
		if !w.sent[e] {
			t.Fatalf("node %d: unexpected value %q at %d", n.i, e, seqs[i])
		}
		if seen[e] {
			t.Fatalf("node %d: value %q stored twice", n.i, e)
		}
		seen[e] = true
	}
	for seq, v := range w.acked {
		if seq > highest || events[seq-1] != v {
			t.Fatalf("node %d: acknowledged %q at %d lost", n.i, v, seq)
		}
	}
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
}

// Appends go on through a follower while the leader crashes: a new leader
// takes over, nothing acknowledged is lost or doubled on either survivor,
// and the old leader catches up when it returns.
func TestLeaderLoss(t *testing.T) {
	c := newCluster(t, t.TempDir(), 3, nil)
	defer c.close()
	leader, follower := c.leader(), c.follower()

	ctx, cancel := context.WithCancel(bg)
	w := &writer{actor: "through-follower"}
	done := make(chan struct{})
	go func() { defer close(done); w.run(ctx, t, follower) }()

	waitFor(t, "30 appends", func() bool { return w.count.Load() >= 30 })
	c.stop(leader.i)
	before := w.count.Load()
	newLeader := c.leader()
	if newLeader == leader {
		t.Fatal("stopped leader still leads")
	}
	waitFor(t, "30 appends under the new leader", func() bool { return w.count.Load() >= before+30 })
	// And through the new leader directly.
	for seq := uint64(1); seq <= 5; seq++ {
		if err := newLeader.store.Append(bg, "through-leader", seq, [][]byte{[]byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	<-done

	for _, n := range c.running() {
		if err := n.store.ReadBarrier(bg); err != nil {
			t.Fatal(err)
		}
		w.check(t, n)
	}
	c.start(leader.i)
	c.converge()
	w.check(t, leader)
	t.Logf("%d acknowledged appends, %d across the leader change", len(w.acked), len(w.acked)-int(before))
}

// A node that was down while the log moved past a snapshot catches up by
// installing the leader's snapshot.
func TestSnapshotCatchUp(t *testing.T) {
	c := newCluster(t, t.TempDir(), 3, func(cfg *Config) {
		cfg.SnapshotThreshold, cfg.TrailingLogs, cfg.SnapshotInterval = 64, 16, 20*time.Millisecond
	})
	defer c.close()
	leader, down := c.leader(), c.follower()
	c.stop(down.i)

	var wg sync.WaitGroup
	for a := range 8 {
		wg.Go(func() {
			actor := fmt.Sprintf("actor-%d", a)
			for seq := uint64(1); seq <= 60; seq++ {
				if err := leader.store.Append(bg, actor, seq, [][]byte{[]byte(actor)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := leader.store.SaveSnapshot(bg, "actor-0", 60, []byte("state")); err != nil {
		t.Fatal(err)
	}
	if err := leader.store.DeleteRange(bg, "actor-0", 1, 30); err != nil {
		t.Fatal(err)
	}
	// No running node's log reaches back to where the stopped node is, so
	// that whichever of them leads when it returns (a loaded machine may
	// move the leadership meanwhile) has to send it a snapshot.
	waitFor(t, "snapshots that compact the running nodes' logs", func() bool {
		for _, n := range c.nodes {
			if n.i == down.i {
				continue
			}
			if first, _ := (LogStore{n.store.rdb}).FirstIndex(); first <= 100 {
				return false
			}
		}
		return true
	})

	c.start(down.i)
	c.converge()
	// hashicorp/raft records the installed snapshot only after the FSM has
	// restored it, so the replica can match the leader's a moment before
	// the stat moves: await it.
	waitFor(t, "the returning node to record an installed snapshot", func() bool {
		return down.store.raft.Stats()["last_snapshot_index"] != "0"
	})
	seqs, _, h := journalOf(t, down, "actor-0")
	if h != 60 || len(seqs) != 30 || seqs[0] != 31 {
		t.Fatalf("actor-0 on the returning node: highest %d, seqs %v", h, seqs)
	}
	// It takes writes again, and a restart of it starts from its replica.
	if err := down.store.Append(bg, "actor-1", 61, [][]byte{[]byte("after")}); err != nil {
		t.Fatal(err)
	}
	c.stop(down.i)
	c.start(down.i)
	c.converge()
}

// With two of three nodes down, a write on the survivor fails within the
// apply timeout. It was not acknowledged, so nothing is promised about it:
// it may have reached the survivor's log and be committed once a majority
// is back, or vanish. What is checked is that the failure is not reported
// as a conflict, that all replicas agree afterwards, and that the event is
// either wholly there (at the seq asked for) or absent.
func TestMinorityRefusesWrites(t *testing.T) {
	const applyTimeout = 2 * time.Second
	c := newCluster(t, t.TempDir(), 3, func(cfg *Config) { cfg.ApplyTimeout = applyTimeout })
	defer c.close()
	survivor := c.leader()
	if err := survivor.store.Append(bg, "a", 1, [][]byte{[]byte("one")}); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.running() {
		if n != survivor {
			c.stop(n.i)
		}
	}
	start := time.Now()
	err := survivor.store.Append(bg, "a", 2, [][]byte{[]byte("two")})
	took := time.Since(start)
	if err == nil || persistence.IsSeqConflict(err) {
		t.Fatalf("append on a minority: %v", err)
	}
	if !errors.Is(err, ErrNoLeader) && !errors.Is(err, ErrUnknownOutcome) {
		t.Fatalf("append on a minority: %v, want ErrNoLeader or ErrUnknownOutcome", err)
	}
	if took > applyTimeout+time.Second {
		t.Fatalf("append on a minority took %v, apply timeout %v", took, applyTimeout)
	}
	t.Logf("minority append failed after %v: %v", took, err)

	for _, n := range c.nodes {
		if !n.running() {
			c.start(n.i)
		}
	}
	c.converge()
	for _, n := range c.nodes {
		if err := n.store.ReadBarrier(bg); err != nil {
			t.Fatal(err)
		}
		seqs, events, h := journalOf(t, n, "a")
		switch {
		case h == 1 && slices.Equal(events, []string{"one"}):
		case h == 2 && slices.Equal(events, []string{"one", "two"}) && slices.Equal(seqs, []uint64{1, 2}):
		default:
			t.Fatalf("node %d: %v %q highest %d", n.i, seqs, events, h)
		}
	}
}

// Two nodes append at the same expected seq at once: exactly one wins, the
// other gets a *persistence.SeqConflictError naming the seq after it.
func TestTwoWritersSameSeq(t *testing.T) {
	c := newCluster(t, t.TempDir(), 3, nil)
	defer c.close()
	nodes := c.running()
	a, b := nodes[0], nodes[1]
	for round := range uint64(20) {
		seq := round + 1
		errs := make([]error, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, n := range []*testNode{a, b} {
			wg.Go(func() {
				<-start
				errs[i] = n.store.Append(bg, "contended", seq, [][]byte{fmt.Appendf(nil, "node %d round %d", n.i, round)})
			})
		}
		close(start)
		wg.Wait()
		var c *persistence.SeqConflictError
		switch {
		case errs[0] == nil && errors.As(errs[1], &c), errs[1] == nil && errors.As(errs[0], &c):
			if c.Expected != seq+1 || c.Got != seq || c.ActorID != "contended" {
				t.Fatalf("round %d: conflict %+v", round, c)
			}
		default:
			t.Fatalf("round %d: results %v, want one success and one conflict", round, errs)
		}
	}
	for _, n := range nodes {
		if err := n.store.ReadBarrier(bg); err != nil {
			t.Fatal(err)
		}
		if _, _, h := journalOf(t, n, "contended"); h != 20 {
			t.Fatalf("node %d: highest %d after 20 rounds", n.i, h)
		}
	}
}

// A restart makes raft hand the entries above its last snapshot to the
// state machine again: the replicas must come out exactly as they were.
func TestRestartIdempotent(t *testing.T) {
	dir := t.TempDir()
	tweak := func(cfg *Config) {
		cfg.SnapshotThreshold, cfg.TrailingLogs, cfg.SnapshotInterval = 40, 10, 20*time.Millisecond
	}
	c := newCluster(t, dir, 3, tweak)
	leader := c.leader()
	for seq := uint64(1); seq <= 100; seq++ {
		n := c.nodes[int(seq)%3]
		if err := n.store.Append(bg, fmt.Sprintf("r%d", seq%5), (seq+4)/5, [][]byte{fmt.Appendf(nil, "%d", seq)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a snapshot", func() bool { return leader.store.raft.Stats()["last_snapshot_index"] != "0" })
	// Entries after the snapshot, which the restart re-applies.
	for seq := uint64(21); seq <= 30; seq++ {
		if err := leader.store.Append(bg, "r0", seq, [][]byte{[]byte("late")}); err != nil {
			t.Fatal(err)
		}
	}
	c.converge()
	before := checkpoint(t, leader.local)
	c.close()

	c = newCluster(t, dir, 3, tweak)
	defer c.close()
	c.converge()
	for _, n := range c.nodes {
		if err := n.store.ReadBarrier(bg); err != nil {
			t.Fatal(err)
		}
		if got := checkpoint(t, n.local); string(got) != string(before) {
			t.Fatalf("node %d: replica changed across the restart", n.i)
		}
		if h, err := n.store.HighestSeq(bg, "r0"); err != nil || h != 30 {
			t.Fatalf("node %d: highest of r0 = %d, %v", n.i, h, err)
		}
	}
	if err := c.nodes[1].store.Append(bg, "r0", 31, [][]byte{[]byte("next")}); err != nil {
		t.Fatal(err)
	}
}

// A replica that lost its contents (its unsynced tail, or everything) is
// rebuilt from the node's own raft state: the latest snapshot, which raft
// will not restore on start by itself, then the log above it.
func TestReplicaRebuiltFromRaftState(t *testing.T) {
	dir := t.TempDir()
	tweak := func(cfg *Config) {
		cfg.SnapshotThreshold, cfg.TrailingLogs, cfg.SnapshotInterval = 40, 10, 20*time.Millisecond
	}
	c := newCluster(t, dir, 3, tweak)
	defer c.close()
	victim := c.follower()
	for seq := uint64(1); seq <= 80; seq++ {
		if err := victim.store.Append(bg, "x", seq, [][]byte{fmt.Appendf(nil, "%d", seq)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a snapshot on the victim", func() bool { return victim.store.raft.Stats()["last_snapshot_index"] != "0" })
	for seq := uint64(81); seq <= 90; seq++ {
		if err := victim.store.Append(bg, "x", seq, [][]byte{fmt.Appendf(nil, "%d", seq)}); err != nil {
			t.Fatal(err)
		}
	}
	c.converge()
	c.stop(victim.i)
	wipeReplica(t, dir, victim.i)
	c.start(victim.i)
	c.converge()
	if err := victim.store.ReadBarrier(bg); err != nil {
		t.Fatal(err)
	}
	seqs, _, h := journalOf(t, victim, "x")
	if h != 90 || !slices.Equal(seqs, seqRange(1, 90)) {
		t.Fatalf("rebuilt replica: highest %d, %d events", h, len(seqs))
	}
}
