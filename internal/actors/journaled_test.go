package actors

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// The persistent-actor core (journaled.go), through the stream actor:
// group commit, snapshots and trimming, recovery, fail-and-stop.

func TestJournaledGroupCommit(t *testing.T) {
	cases := []struct {
		name     string
		maxBatch int
		during   [][]string // arrive while the first push is written: a push, or a batch
		appends  []int      // the sizes of the appends, in order
	}{
		{name: "pushes during an append go in the next one",
			during: [][]string{{"m2"}, {"m3"}, {"m4"}, {"m5"}, {"m6"}}, appends: []int{1, 5}},
		{name: "batches and pushes during an append: one append",
			during: [][]string{{"m2", "m3", "m4"}, {"m5"}, {"m6"}}, appends: []int{1, 5}},
		{name: "at most MaxBatch events an append", maxBatch: 2,
			during: [][]string{{"m2"}, {"m3"}, {"m4"}, {"m5"}, {"m6"}}, appends: []int{1, 2, 2, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser, func(d *Deps) { d.MaxBatch = c.maxBatch })
			release := h.store.hold(t, "append").release
			futures := []*actor.Future{h.system.Root.RequestFuture(h.pid, &opsyncpb.Push{Entry: entry("A", "m1")}, awaitTimeout)}
			h.store.awaitHeld(t, "append")
			for _, msgs := range c.during {
				var es []*opsyncpb.Entry
				for _, m := range msgs {
					es = append(es, entry("A", m))
				}
				var msg any = &opsyncpb.PushBatch{Entries: es}
				if len(es) == 1 {
					msg = &opsyncpb.Push{Entry: es[0]}
				}
				futures = append(futures, h.system.Root.RequestFuture(h.pid, msg, awaitTimeout))
			}
			h.sync() // all have arrived and wait
			release()
			var got []string
			for _, f := range futures {
				res, err := f.Result()
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				switch r := res.(type) {
				case *opsyncpb.PushResult:
					got = append(got, result(r))
				case *opsyncpb.PushBatchResult:
					for _, r := range r.Results {
						got = append(got, result(r))
					}
				}
			}
			var want []string
			for id := 1; id <= 6; id++ {
				want = append(want, fmt.Sprintf("SUCCESS %d", id))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("answers %q, want %q", got, want)
			}
			if got := h.store.appendSizes(h.journal); !slices.Equal(got, c.appends) {
				t.Fatalf("appends of %v events, want %v", got, c.appends)
			}
		})
	}
}

func TestJournaledSnapshotTrimAndRecovery(t *testing.T) {
	h := newStreamTest(t, aliceUser, func(d *Deps) { d.SnapshotEvery = 5 })
	keep2 := func(e *opsyncpb.Entry) { e.Threshold = 2 }
	p := h.probe("d1")
	p.subscribe(map[string]uint64{"A": 0})

	// 1: m1; 2: d1's sync point; 3: m2; 4: m3; 5: m1 removed (threshold).
	h.pushOK(with(entry("A", "m1"), keep2))
	p.expect(1)
	p.ack(map[string]uint64{"A": 1})
	h.awaitEvent("d1's sync point", syncPointWritten("d1", "A", 1))
	h.pushOK(with(entry("A", "m2"), keep2), with(entry("A", "m3"), keep2))

	// The fifth event is followed by a snapshot; the journal below it is
	// trimmed but for the retained entries (3, 4): m1's record, the sync
	// point and the removal event alike.
	h.store.await(t, "a snapshot at 5 and the journal holding 3 and 4", func() bool {
		return h.store.snapshotSeq(t, h.journal) == 5 && slices.Equal(seqs(h.events()), []uint64{3, 4})
	})
	// The retained entries are still read from the journal.
	d2 := h.probe("d2")
	d2.subscribe(map[string]uint64{"A": 0})
	d2.expect(3, 4)

	// 6: m4; 7: m2 removed. Then a new activation.
	h.pushOK(with(entry("A", "m4"), keep2))
	h.awaitRemoved(opsyncpb.RemovalReason_REMOVAL_REASON_THRESHOLD, 3)
	replays := len(h.store.replaysOf(h.journal))
	h.restart()

	// It recovers from the snapshot, then replays the tail from 6: m3 is
	// known from the snapshot alone.
	if got := h.push(with(entry("A", "m3"), keep2)); result(got) != "DUPLICATED_BIZ_ID 4" {
		t.Fatalf("m3 again after the restart: %s, want DUPLICATED_BIZ_ID 4", result(got))
	}
	if r := h.store.replaysOf(h.journal)[replays]; r.from != 6 {
		t.Fatalf("recovery replayed from %d, want 6 (after the snapshot)", r.from)
	}
	if got := h.status().Arrivals; got != 1 {
		t.Fatalf("arrivals = %d, want 1 (d1 acknowledged m1 before it was removed: the count stays)", got)
	}
	d3 := h.probe("d3")
	d3.subscribe(map[string]uint64{"A": 0})
	d3.expect(4, 6)
	// d1's sync point came with the snapshot too: acking it again stores
	// nothing, so the next entry follows the removal at 7 directly.
	p.ack(map[string]uint64{"A": 1})
	if got := h.pushOK(with(entry("A", "m5"), keep2)); got[0] != 8 {
		t.Fatalf("the next id after the restart = %d, want 8", got[0])
	}
}

func TestJournaledAppendFailure(t *testing.T) {
	errDisk := errors.New("disk refused the write")
	cases := []struct {
		name   string
		queued []string // pushes waiting behind the failing append
	}{
		{name: "the failing push"},
		{name: "and the pushes queued behind it", queued: []string{"m4", "m5"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			h.pushOK(entry("A", "m1"), entry("A", "m2"))

			release := h.store.hold(t, "append").release
			futures := []*actor.Future{h.system.Root.RequestFuture(h.pid, &opsyncpb.Push{Entry: entry("A", "m3")}, awaitTimeout)}
			h.store.awaitHeld(t, "append")
			for _, m := range c.queued {
				futures = append(futures, h.system.Root.RequestFuture(h.pid, &opsyncpb.Push{Entry: entry("A", m)}, awaitTimeout))
			}
			h.sync()
			stopped := terminated(h.system, h.pid)
			h.store.FailAppends(errDisk)
			release()
			for _, f := range futures {
				if r := answer[*opsyncpb.PushResult](t, f); r.Code != "SYSTEM_ERROR" {
					t.Fatalf("answer %s, want SYSTEM_ERROR", result(r))
				}
			}
			awaitClosed(t, stopped, "the stream stops after the failed append")

			// A new activation has what was durable, and goes on after it.
			h.store.FailAppends(nil)
			h.start()
			if got := result(h.push(entry("A", "m1"))); got != "DUPLICATED_BIZ_ID 1" {
				t.Fatalf("m1 again: %s, want DUPLICATED_BIZ_ID 1", got)
			}
			if got := result(h.push(entry("A", "m3"))); got != "SUCCESS 3" {
				t.Fatalf("m3 again: %s, want SUCCESS 3", got)
			}
			p := h.probe("d1")
			p.subscribe(map[string]uint64{"A": 0})
			p.expect(1, 2, 3)
		})
	}
}
