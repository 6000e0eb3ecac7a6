// Package journaltest is a conformance suite for persistence.Store
// implementations: every journal opsync can run on (the local Pebble one, a
// replicated one) must pass Run.
//
// The checks follow the behaviours Akka Persistence's journal TCK asks of a
// journal (see shared/notes/durability-checks.md), plus opsync's own: reopen,
// neighbouring actors untouched by range deletes, many concurrent writers,
// exactly one winner among writers racing for the same sequence number.
package journaltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opsync/opsync/internal/persistence"
)

// Harness tells the suite how to get a store.
type Harness struct {
	// Open opens the store kept in dir, creating it if dir is empty. The
	// suite calls it again on the same dir after closing a store, and
	// expects to find everything that was acknowledged. The suite closes
	// every store it opens.
	Open func(t *testing.T, dir string) persistence.Store
}

// Run runs the whole suite, each check as a subtest on a store of its own.
func Run(t *testing.T, h Harness) {
	if h.Open == nil {
		t.Fatal("journaltest: Harness.Open is nil")
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"ReplayBounds", testReplayBounds},
		{"ReplayUnknownActor", testReplayUnknownActor},
		{"ReplayStopsOnCallbackError", testReplayCallbackError},
		{"ReplayCancelled", testReplayCancelled},
		{"Delete", testDelete},
		{"DeleteAllKeepsHighest", testDeleteAllKeepsHighest},
		{"DeleteRanges", testDeleteRanges},
		{"AppendConflicts", testAppendConflicts},
		{"AppendRejectsBadInput", testAppendBadInput},
		{"AppendLargeBatch", testAppendLargeBatch},
		{"CallerBuffersNotRetained", testBuffersNotRetained},
		{"Snapshots", testSnapshots},
		{"SnapshotEdges", testSnapshotEdges},
		{"SnapshotsAndJournalIndependent", testSnapshotsIndependent},
		{"Reopen", testReopen},
		{"SimilarActorIDs", testSimilarActorIDs},
		{"InvalidActorIDs", testInvalidActorIDs},
		{"ConcurrentActors", testConcurrentActors},
		{"SameSeqRace", testSameSeqRace},
		{"SameActorContention", testSameActorContention},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

var ctx = context.Background()

// open returns a fresh store in a new directory, closed at the end of t.
func open(t *testing.T, h Harness) (persistence.Store, string) {
	t.Helper()
	dir := t.TempDir()
	return openIn(t, h, dir), dir
}

func openIn(t *testing.T, h Harness, dir string) persistence.Store {
	t.Helper()
	s := h.Open(t, dir)
	if s == nil {
		t.Fatal("Harness.Open returned nil")
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func reopen(t *testing.T, h Harness, s persistence.Store, dir string) persistence.Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return openIn(t, h, dir)
}

// ev is the recognisable content of event seq of actor.
func ev(actor string, seq uint64) []byte { return fmt.Appendf(nil, "%s#%d", actor, seq) }

func evs(actor string, first uint64, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = ev(actor, first+uint64(i))
	}
	return out
}

// fixtureActor has events 1..5, written as 1, 2, 3, {4, 5}.
const fixtureActor = "actor-1"

func writeFixture(t *testing.T, s persistence.Store) {
	t.Helper()
	for _, b := range []struct {
		first uint64
		n     int
	}{{1, 1}, {2, 1}, {3, 1}, {4, 2}} {
		mustAppend(t, s, fixtureActor, b.first, evs(fixtureActor, b.first, b.n))
	}
}

func mustAppend(t *testing.T, s persistence.Store, actor string, first uint64, events [][]byte) {
	t.Helper()
	if err := s.Append(ctx, actor, first, events); err != nil {
		t.Fatalf("Append(%q, %d, %d events): %v", actor, first, len(events), err)
	}
}

type replayed struct {
	seqs    []uint64
	events  [][]byte
	highest uint64
}

func replay(t *testing.T, s persistence.Store, actor string, from, to uint64, max int) replayed {
	t.Helper()
	var r replayed
	var err error
	r.highest, err = s.Replay(ctx, actor, from, to, max, func(seq uint64, e []byte) error {
		r.seqs = append(r.seqs, seq)
		r.events = append(r.events, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Replay(%q, %d, %d, %d): %v", actor, from, to, max, err)
	}
	return r
}

// checkJournal checks that replaying all of actor gives exactly the events
// ev(actor, seq) for seq in want, and highest.
func checkJournal(t *testing.T, s persistence.Store, actor string, want []uint64, highest uint64) {
	t.Helper()
	r := replay(t, s, actor, 1, persistence.MaxSeq, -1)
	checkReplayed(t, actor, r, want, highest)
	if h, err := s.HighestSeq(ctx, actor); err != nil || h != highest {
		t.Fatalf("HighestSeq(%q) = %d, %v; want %d", actor, h, err, highest)
	}
}

func checkReplayed(t *testing.T, actor string, r replayed, want []uint64, highest uint64) {
	t.Helper()
	if !slices.Equal(r.seqs, want) {
		t.Fatalf("%q: replayed seqs %v, want %v", actor, r.seqs, want)
	}
	for i, seq := range r.seqs {
		if w := ev(actor, seq); !bytes.Equal(r.events[i], w) {
			t.Fatalf("%q: event %d = %q, want %q", actor, seq, r.events[i], w)
		}
	}
	if r.highest != highest {
		t.Fatalf("%q: replay reported highest %d, want %d", actor, r.highest, highest)
	}
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func testReplayBounds(t *testing.T, h Harness) {
	s, _ := open(t, h)
	writeFixture(t, s)
	const all = persistence.MaxSeq
	for _, tc := range []struct {
		name     string
		from, to uint64
		max      int
		want     []uint64
	}{
		{"all", 1, all, -1, seqRange(1, 5)},
		{"from zero", 0, all, -1, seqRange(1, 5)},
		{"lower bound", 3, all, -1, seqRange(3, 5)},
		{"upper bound", 1, 3, -1, seqRange(1, 3)},
		{"upper bound inside batch", 1, 4, -1, seqRange(1, 4)},
		{"count limit", 1, all, 3, seqRange(1, 3)},
		{"limit above count", 1, all, 100, seqRange(1, 5)},
		{"both bounds", 2, 4, -1, seqRange(2, 4)},
		{"both bounds and limit", 2, 5, 2, seqRange(2, 3)},
		{"lower = upper", 3, 3, -1, []uint64{3}},
		{"lower = upper in batch", 5, 5, -1, []uint64{5}},
		{"limit 1", 1, all, 1, []uint64{1}},
		{"limit 1 with lower bound", 4, all, 1, []uint64{4}},
		{"limit 0", 1, all, 0, nil},
		{"lower > upper", 4, 3, -1, nil},
		{"lower above highest", 6, all, -1, nil},
		{"upper 0", 0, 0, -1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := replay(t, s, fixtureActor, tc.from, tc.to, tc.max)
			checkReplayed(t, fixtureActor, r, tc.want, 5)
		})
	}
	if h, err := s.HighestSeq(ctx, fixtureActor); err != nil || h != 5 {
		t.Fatalf("HighestSeq = %d, %v; want 5", h, err)
	}
}

func testReplayUnknownActor(t *testing.T, h Harness) {
	s, _ := open(t, h)
	writeFixture(t, s)
	// Ids that share bytes with the fixture actor's must not see its events.
	for _, actor := range []string{"nobody", "actor-", "actor-10", "actor-1\x00", "ACTOR-1"} {
		checkJournal(t, s, actor, nil, 0)
	}
}

func testReplayCallbackError(t *testing.T, h Harness) {
	s, _ := open(t, h)
	writeFixture(t, s)
	stop := errors.New("stop here")
	var got []uint64
	_, err := s.Replay(ctx, fixtureActor, 1, persistence.MaxSeq, -1, func(seq uint64, _ []byte) error {
		got = append(got, seq)
		if seq == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Replay returned %v, want the callback's error", err)
	}
	if !slices.Equal(got, seqRange(1, 3)) {
		t.Fatalf("callback saw %v, want 1..3 and nothing after the error", got)
	}
}

func testReplayCancelled(t *testing.T, h Harness) {
	s, _ := open(t, h)
	writeFixture(t, s)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	calls := 0
	_, err := s.Replay(cctx, fixtureActor, 1, persistence.MaxSeq, -1, func(uint64, []byte) error { calls++; return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Replay with a cancelled context returned %v after %d events, want context.Canceled", err, calls)
	}

	cctx, cancel = context.WithCancel(ctx)
	defer cancel()
	calls = 0
	_, err = s.Replay(cctx, fixtureActor, 1, persistence.MaxSeq, -1, func(seq uint64, _ []byte) error {
		calls++
		if seq == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Replay cancelled midway returned %v after %d events, want context.Canceled", err, calls)
	}
	if calls == 5 {
		t.Fatal("Replay cancelled at event 2 still delivered every event")
	}

	cctx, cancel = context.WithCancel(ctx)
	cancel()
	if err := s.Append(cctx, fixtureActor, 6, evs(fixtureActor, 6, 1)); err == nil {
		t.Fatal("Append with a cancelled context succeeded")
	}
	checkJournal(t, s, fixtureActor, seqRange(1, 5), 5)
}

func testDelete(t *testing.T, h Harness) {
	for _, tc := range []struct {
		name     string
		from, to uint64
		want     []uint64
	}{
		{"first", 1, 1, []uint64{2, 3, 4, 5}},
		{"prefix", 1, 3, []uint64{4, 5}},
		{"from zero", 0, 2, []uint64{3, 4, 5}},
		{"middle", 3, 3, []uint64{1, 2, 4, 5}},
		{"half a batch", 4, 4, []uint64{1, 2, 3, 5}},
		{"last", 5, 5, []uint64{1, 2, 3, 4}},
		{"suffix to MaxSeq", 4, persistence.MaxSeq, []uint64{1, 2, 3}},
		{"beyond highest", 6, 100, seqRange(1, 5)},
		{"lower > upper", 4, 2, seqRange(1, 5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := open(t, h)
			writeFixture(t, s)
			if err := s.DeleteRange(ctx, fixtureActor, tc.from, tc.to); err != nil {
				t.Fatalf("DeleteRange(%d, %d): %v", tc.from, tc.to, err)
			}
			checkJournal(t, s, fixtureActor, tc.want, 5)
			// Bounded replays skip the hole too.
			r := replay(t, s, fixtureActor, 2, 4, -1)
			var want []uint64
			for _, seq := range tc.want {
				if seq >= 2 && seq <= 4 {
					want = append(want, seq)
				}
			}
			checkReplayed(t, fixtureActor, r, want, 5)
			// The next append still goes after the old highest.
			mustAppend(t, s, fixtureActor, 6, evs(fixtureActor, 6, 1))
			checkJournal(t, s, fixtureActor, append(tc.want, 6), 6)
		})
	}
}

func testDeleteRanges(t *testing.T, h Harness) {
	r := func(from, to uint64) persistence.SeqRange { return persistence.SeqRange{From: from, To: to} }
	for _, tc := range []struct {
		name   string
		ranges []persistence.SeqRange
		want   []uint64
	}{
		{"none", nil, seqRange(1, 5)},
		{"single seqs between kept ones", []persistence.SeqRange{r(2, 2), r(4, 4)}, []uint64{1, 3, 5}},
		{"ranges and a single seq", []persistence.SeqRange{r(1, 2), r(4, 5)}, []uint64{3}},
		{"overlapping", []persistence.SeqRange{r(1, 3), r(2, 4)}, []uint64{5}},
		{"from zero, and to MaxSeq", []persistence.SeqRange{r(0, 1), r(5, persistence.MaxSeq)}, []uint64{2, 3, 4}},
		{"lower > upper, and beyond highest", []persistence.SeqRange{r(4, 2), r(6, 9)}, seqRange(1, 5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := open(t, h)
			writeFixture(t, s)
			mustAppend(t, s, "other", 1, evs("other", 1, 3))
			if err := s.DeleteRanges(ctx, fixtureActor, tc.ranges); err != nil {
				t.Fatalf("DeleteRanges(%v): %v", tc.ranges, err)
			}
			checkJournal(t, s, fixtureActor, tc.want, 5)
			// Other actors' events stay.
			checkJournal(t, s, "other", seqRange(1, 3), 3)
			mustAppend(t, s, fixtureActor, 6, evs(fixtureActor, 6, 1))
			checkJournal(t, s, fixtureActor, append(tc.want, 6), 6)
		})
	}
}

func testDeleteAllKeepsHighest(t *testing.T, h Harness) {
	s, dir := open(t, h)
	writeFixture(t, s)
	if err := s.DeleteRange(ctx, fixtureActor, 1, persistence.MaxSeq); err != nil {
		t.Fatal(err)
	}
	checkJournal(t, s, fixtureActor, nil, 5)
	r := replay(t, s, fixtureActor, 1, persistence.MaxSeq, 0)
	checkReplayed(t, fixtureActor, r, nil, 5)

	// Sequence numbers are never reused, not even after a restart.
	s = reopen(t, h, s, dir)
	checkJournal(t, s, fixtureActor, nil, 5)
	err := s.Append(ctx, fixtureActor, 1, evs(fixtureActor, 1, 1))
	if !persistence.IsSeqConflict(err) {
		t.Fatalf("Append at 1 after deleting everything: %v, want a seq conflict", err)
	}
	mustAppend(t, s, fixtureActor, 6, evs(fixtureActor, 6, 2))
	checkJournal(t, s, fixtureActor, []uint64{6, 7}, 7)
}

func testAppendConflicts(t *testing.T, h Harness) {
	s, _ := open(t, h)
	writeFixture(t, s)
	for _, tc := range []struct {
		name  string
		first uint64
		n     int
	}{
		{"stale", 5, 1},
		{"stale batch", 3, 3},
		{"stale batch reaching past highest", 4, 5},
		{"from the start", 1, 1},
		{"zero", 0, 1},
		{"gap", 7, 1},
		{"gap batch", 10, 4},
		{"overflowing batch", persistence.MaxSeq - 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events := make([][]byte, tc.n)
			for i := range events {
				events[i] = []byte("must not be stored")
			}
			err := s.Append(ctx, fixtureActor, tc.first, events)
			var conflict *persistence.SeqConflictError
			if !errors.As(err, &conflict) {
				t.Fatalf("Append at %d: %v, want a *SeqConflictError", tc.first, err)
			}
			if conflict.Expected != 6 || conflict.Got != tc.first || conflict.ActorID != fixtureActor {
				t.Fatalf("conflict = %+v, want actor %q expected 6 got %d", conflict, fixtureActor, tc.first)
			}
			checkJournal(t, s, fixtureActor, seqRange(1, 5), 5)
		})
	}
	// After all those refusals the right seq is still accepted.
	mustAppend(t, s, fixtureActor, 6, evs(fixtureActor, 6, 3))
	checkJournal(t, s, fixtureActor, seqRange(1, 8), 8)
}

func testAppendBadInput(t *testing.T, h Harness) {
	s, _ := open(t, h)
	writeFixture(t, s)
	for _, events := range [][][]byte{nil, {}} {
		if err := s.Append(ctx, fixtureActor, 6, events); err == nil {
			t.Fatalf("Append of %#v succeeded, want an error", events)
		}
	}
	checkJournal(t, s, fixtureActor, seqRange(1, 5), 5)
	// Empty events are values like any other.
	mustAppend(t, s, fixtureActor, 6, [][]byte{{}, nil})
	r := replay(t, s, fixtureActor, 6, persistence.MaxSeq, -1)
	if !slices.Equal(r.seqs, []uint64{6, 7}) || len(r.events[0]) != 0 || len(r.events[1]) != 0 {
		t.Fatalf("empty events replayed as %v %q", r.seqs, r.events)
	}
}

func testAppendLargeBatch(t *testing.T, h Harness) {
	s, dir := open(t, h)
	const n = 2000
	mustAppend(t, s, "big", 1, evs("big", 1, n))
	checkJournal(t, s, "big", seqRange(1, n), n)
	s = reopen(t, h, s, dir)
	checkJournal(t, s, "big", seqRange(1, n), n)
	r := replay(t, s, "big", 1000, 1500, 7)
	checkReplayed(t, "big", r, seqRange(1000, 1006), n)
}

// A store must copy what it is given and hand out what the caller may keep:
// actors reuse buffers and keep replayed events in their state.
func testBuffersNotRetained(t *testing.T, h Harness) {
	s, _ := open(t, h)
	events := evs("buf", 1, 3)
	mustAppend(t, s, "buf", 1, events)
	for _, e := range events {
		for i := range e {
			e[i] = 'X'
		}
	}
	snap := []byte("snapshot data")
	if err := s.SaveSnapshot(ctx, "buf", 3, snap); err != nil {
		t.Fatal(err)
	}
	copy(snap, "XXXXXXXXXXXXX")

	r := replay(t, s, "buf", 1, persistence.MaxSeq, -1)
	checkReplayed(t, "buf", r, seqRange(1, 3), 3)
	// Events handed to fn stay valid after the replay.
	mustAppend(t, s, "buf", 4, evs("buf", 4, 1))
	_ = replay(t, s, "buf", 1, persistence.MaxSeq, -1)
	checkReplayed(t, "buf", r, seqRange(1, 3), 3)

	_, data, found, err := s.LoadSnapshot(ctx, "buf", persistence.MaxSeq)
	if err != nil || !found || string(data) != "snapshot data" {
		t.Fatalf("LoadSnapshot = %q, %v, %v; want the data as saved", data, found, err)
	}
}

func mustSave(t *testing.T, s persistence.Store, actor string, seq uint64, data []byte) {
	t.Helper()
	if err := s.SaveSnapshot(ctx, actor, seq, data); err != nil {
		t.Fatalf("SaveSnapshot(%q, %d): %v", actor, seq, err)
	}
}

func snapData(actor string, seq uint64) []byte {
	return fmt.Appendf(nil, "snapshot of %s at %d", actor, seq)
}

// checkSnapshot checks that LoadSnapshot(actor, maxSeq) finds the snapshot
// at wantSeq (0: none) with data want (nil: snapData(actor, wantSeq)).
func checkSnapshot(t *testing.T, s persistence.Store, actor string, maxSeq, wantSeq uint64, want []byte) {
	t.Helper()
	seq, data, found, err := s.LoadSnapshot(ctx, actor, maxSeq)
	if err != nil {
		t.Fatalf("LoadSnapshot(%q, %d): %v", actor, maxSeq, err)
	}
	if wantSeq == 0 {
		if found {
			t.Fatalf("LoadSnapshot(%q, %d) found seq %d, want none", actor, maxSeq, seq)
		}
		return
	}
	if want == nil {
		want = snapData(actor, wantSeq)
	}
	if !found || seq != wantSeq || !bytes.Equal(data, want) {
		t.Fatalf("LoadSnapshot(%q, %d) = seq %d found %v data %.40q; want seq %d data %.40q",
			actor, maxSeq, seq, found, data, wantSeq, want)
	}
}

func testSnapshots(t *testing.T, h Harness) {
	s, dir := open(t, h)
	const a = "snap-actor"
	checkSnapshot(t, s, "unknown", persistence.MaxSeq, 0, nil)
	for _, seq := range []uint64{2, 4, 7, 9} {
		mustSave(t, s, a, seq, snapData(a, seq))
	}
	data4 := snapData(a, 4)
	steps := []struct {
		name string
		do   func(t *testing.T)
		// maxSeq -> expected seq (0: none)
		want map[uint64]uint64
	}{
		{"saved", nil, map[uint64]uint64{persistence.MaxSeq: 9, 9: 9, 8: 7, 7: 7, 5: 4, 3: 2, 2: 2, 1: 0, 0: 0}},
		{"overwrite at 4", func(t *testing.T) {
			data4 = []byte("second version of 4")
			mustSave(t, s, a, 4, data4)
		},
			map[uint64]uint64{6: 4, persistence.MaxSeq: 9}},
		{"delete one (the latest)", func(t *testing.T) { mustDeleteSnapshots(t, s, a, 9, 9) },
			map[uint64]uint64{persistence.MaxSeq: 7, 9: 7, 7: 7}},
		{"delete one (inner)", func(t *testing.T) { mustDeleteSnapshots(t, s, a, 4, 4) },
			map[uint64]uint64{6: 2, persistence.MaxSeq: 7}},
		{"delete empty range", func(t *testing.T) { mustDeleteSnapshots(t, s, a, 5, 6) },
			map[uint64]uint64{persistence.MaxSeq: 7, 6: 2}},
		{"delete lower > upper", func(t *testing.T) { mustDeleteSnapshots(t, s, a, 7, 2) },
			map[uint64]uint64{persistence.MaxSeq: 7, 6: 2}},
		{"delete a range", func(t *testing.T) { mustDeleteSnapshots(t, s, a, 0, 7) },
			map[uint64]uint64{persistence.MaxSeq: 0, 7: 0, 2: 0}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.do != nil {
				st.do(t)
			}
			for maxSeq, wantSeq := range st.want {
				var want []byte
				if wantSeq == 4 {
					want = data4
				}
				checkSnapshot(t, s, a, maxSeq, wantSeq, want)
			}
		})
	}

	// A big snapshot (well past any inline-value or message-size shortcut)
	// survives a reopen byte for byte.
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = byte(i*7 + i/251)
	}
	mustSave(t, s, a, 20, big)
	mustSave(t, s, a, 10, snapData(a, 10))
	s = reopen(t, h, s, dir)
	checkSnapshot(t, s, a, persistence.MaxSeq, 20, big)
	checkSnapshot(t, s, a, 19, 10, nil)
}

func mustDeleteSnapshots(t *testing.T, s persistence.Store, actor string, from, to uint64) {
	t.Helper()
	if err := s.DeleteSnapshots(ctx, actor, from, to); err != nil {
		t.Fatalf("DeleteSnapshots(%q, %d, %d): %v", actor, from, to, err)
	}
}

func testSnapshotEdges(t *testing.T, h Harness) {
	s, _ := open(t, h)
	const a = "edges"
	mustSave(t, s, a, 0, []byte("initial"))
	seq, data, found, err := s.LoadSnapshot(ctx, a, 0)
	if err != nil || !found || seq != 0 || string(data) != "initial" {
		t.Fatalf("snapshot at seq 0: %d %q %v %v", seq, data, found, err)
	}
	mustSave(t, s, a, persistence.MaxSeq, []byte("last"))
	checkSnapshot(t, s, a, persistence.MaxSeq, persistence.MaxSeq, []byte("last"))
	seq, _, found, err = s.LoadSnapshot(ctx, a, persistence.MaxSeq-1)
	if err != nil || !found || seq != 0 {
		t.Fatalf("LoadSnapshot(MaxSeq-1) = %d %v %v, want the one at 0", seq, found, err)
	}
	mustSave(t, s, a, 5, nil)
	seq, data, found, err = s.LoadSnapshot(ctx, a, 5)
	if err != nil || !found || seq != 5 || len(data) != 0 {
		t.Fatalf("empty snapshot: %d %q %v %v", seq, data, found, err)
	}
}

func testSnapshotsIndependent(t *testing.T, h Harness) {
	s, _ := open(t, h)
	writeFixture(t, s)
	mustSave(t, s, fixtureActor, 3, snapData(fixtureActor, 3))
	if err := s.DeleteRange(ctx, fixtureActor, 1, persistence.MaxSeq); err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, s, fixtureActor, persistence.MaxSeq, 3, nil)
	mustDeleteSnapshots(t, s, fixtureActor, 0, persistence.MaxSeq)
	mustAppend(t, s, fixtureActor, 6, evs(fixtureActor, 6, 1))
	checkJournal(t, s, fixtureActor, []uint64{6}, 6)
	checkSnapshot(t, s, fixtureActor, persistence.MaxSeq, 0, nil)
}

func testReopen(t *testing.T, h Harness) {
	s, dir := open(t, h)
	writeFixture(t, s)
	mustAppend(t, s, "other", 1, evs("other", 1, 3))
	if err := s.DeleteRange(ctx, "other", 2, 2); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, fixtureActor, 4, snapData(fixtureActor, 4))
	mustSave(t, s, fixtureActor, 2, snapData(fixtureActor, 2))

	for round := range 2 {
		s = reopen(t, h, s, dir)
		checkJournal(t, s, fixtureActor, seqRange(1, 5+uint64(round)), 5+uint64(round))
		checkJournal(t, s, "other", []uint64{1, 3}, 3)
		checkSnapshot(t, s, fixtureActor, persistence.MaxSeq, 4, nil)
		checkSnapshot(t, s, fixtureActor, 3, 2, nil)
		err := s.Append(ctx, fixtureActor, 5, evs(fixtureActor, 5, 1))
		if !persistence.IsSeqConflict(err) {
			t.Fatalf("stale append after reopen: %v, want a seq conflict", err)
		}
		mustAppend(t, s, fixtureActor, 6+uint64(round), evs(fixtureActor, 6+uint64(round), 1))
	}
}

// similarIDs are ids that a careless key layout would mix up: prefixes of
// each other, ids that look like an encoded seq or a separator, lengths
// around a byte boundary of a length prefix.
var similarIDs = []string{
	"a", "ab", "abc", "b", "A",
	"a\x00", "a\x00\x00", "a\x00\x00\x00\x00\x00\x00\x00\x01", "a\x00\x00\x00\x00\x00\x00\x00\x02",
	"a\xff", "a\xff\xff\xff\xff\xff\xff\xff\xff", "a/", "a/1", "a#1",
	"\x00", "\x00\x01a", "\x01a", "\xff",
	"j", "h", "s", "j\x00\x01a",
	strings.Repeat("x", 255), strings.Repeat("x", 256), strings.Repeat("x", 257),
	strings.Repeat("y", persistence.MaxActorIDLen),
	strings.Repeat("y", persistence.MaxActorIDLen-1),
}

func testSimilarActorIDs(t *testing.T, h Harness) {
	s, dir := open(t, h)
	const n = 3
	for _, id := range similarIDs {
		mustAppend(t, s, id, 1, evs(id, 1, 2))
		mustAppend(t, s, id, 3, evs(id, 3, 1))
		mustSave(t, s, id, 1, snapData(id, 1))
		mustSave(t, s, id, 3, snapData(id, 3))
	}
	// Each actor in turn loses its middle event and snapshot 3, then
	// everything; after each step every actor must look exactly as it should.
	state := make(map[string]int) // 0 untouched, 1 middle deleted, 2 all deleted
	check := func(t *testing.T, s persistence.Store) {
		t.Helper()
		for _, id := range similarIDs {
			switch state[id] {
			case 0:
				checkJournal(t, s, id, seqRange(1, n), n)
				checkSnapshot(t, s, id, persistence.MaxSeq, 3, nil)
			case 1:
				checkJournal(t, s, id, []uint64{1, 3}, n)
				checkSnapshot(t, s, id, persistence.MaxSeq, 1, nil)
			case 2:
				checkJournal(t, s, id, nil, n)
				checkSnapshot(t, s, id, persistence.MaxSeq, 0, nil)
			}
		}
	}
	check(t, s)
	for _, id := range similarIDs {
		if err := s.DeleteRange(ctx, id, 2, 2); err != nil {
			t.Fatal(err)
		}
		mustDeleteSnapshots(t, s, id, 2, persistence.MaxSeq)
		state[id] = 1
		check(t, s)
	}
	for i, id := range similarIDs {
		if i%2 == 0 {
			continue // half of them stay, so neighbours on both sides exist
		}
		if err := s.DeleteRange(ctx, id, 0, persistence.MaxSeq); err != nil {
			t.Fatal(err)
		}
		mustDeleteSnapshots(t, s, id, 0, persistence.MaxSeq)
		state[id] = 2
		check(t, s)
	}
	s = reopen(t, h, s, dir)
	check(t, s)
}

func testInvalidActorIDs(t *testing.T, h Harness) {
	s, _ := open(t, h)
	for _, id := range []string{"", strings.Repeat("z", persistence.MaxActorIDLen+1)} {
		ops := map[string]error{}
		ops["Append"] = s.Append(ctx, id, 1, evs("x", 1, 1))
		_, ops["Replay"] = s.Replay(ctx, id, 1, persistence.MaxSeq, -1, func(uint64, []byte) error { return nil })
		_, ops["HighestSeq"] = s.HighestSeq(ctx, id)
		ops["DeleteRange"] = s.DeleteRange(ctx, id, 1, 2)
		ops["DeleteRanges"] = s.DeleteRanges(ctx, id, []persistence.SeqRange{{From: 1, To: 2}})
		ops["SaveSnapshot"] = s.SaveSnapshot(ctx, id, 1, []byte("x"))
		_, _, _, ops["LoadSnapshot"] = s.LoadSnapshot(ctx, id, 1)
		ops["DeleteSnapshots"] = s.DeleteSnapshots(ctx, id, 1, 2)
		for op, err := range ops {
			if !errors.Is(err, persistence.ErrInvalidActorID) {
				t.Errorf("%s with a %d-byte id: %v, want ErrInvalidActorID", op, len(id), err)
			}
		}
	}
}

// testConcurrentActors has many actors append at once, as a node's actors
// do; every append must succeed and land exactly where it was asked to.
func testConcurrentActors(t *testing.T, h Harness) {
	s, dir := open(t, h)
	const actors, batches = 64, 12
	var wg sync.WaitGroup
	errs := make(chan error, actors)
	start := make(chan struct{})
	for i := range actors {
		wg.Go(func() {
			id := fmt.Sprintf("conc-%d", i)
			<-start
			next := uint64(1)
			for b := range batches {
				n := 1 + (i+b)%4
				if err := s.Append(ctx, id, next, evs(id, next, n)); err != nil {
					errs <- fmt.Errorf("%s batch %d: %w", id, b, err)
					return
				}
				next += uint64(n)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	check := func(s persistence.Store) {
		for i := range actors {
			id := fmt.Sprintf("conc-%d", i)
			var total uint64
			for b := range batches {
				total += uint64(1 + (i+b)%4)
			}
			checkJournal(t, s, id, seqRange(1, total), total)
		}
	}
	check(s)
	check(reopen(t, h, s, dir))
}

// testSameSeqRace has writers race for the same next seq with batches of
// different sizes: exactly one may win, the rest get a conflict naming the
// seq after the winner's batch, and only the winner's events are stored.
func testSameSeqRace(t *testing.T, h Harness) {
	s, _ := open(t, h)
	const actor, writers, rounds = "contended", 8, 25
	next := uint64(1)
	for round := range rounds {
		results := make([]error, writers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				<-start
				events := make([][]byte, 1+w%3)
				for i := range events {
					events[i] = fmt.Appendf(nil, "round %d writer %d event %d", round, w, i)
				}
				results[w] = s.Append(ctx, actor, next, events)
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		for w, err := range results {
			if err == nil {
				if winner >= 0 {
					t.Fatalf("round %d: writers %d and %d both appended at seq %d", round, winner, w, next)
				}
				winner = w
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer won: %v", round, results)
		}
		n := uint64(1 + winner%3)
		for w, err := range results {
			var c *persistence.SeqConflictError
			if w != winner && (!errors.As(err, &c) || c.Expected != next+n || c.Got != next) {
				t.Fatalf("round %d: loser %d got %v, want a conflict expecting %d", round, w, err, next+n)
			}
		}
		r := replay(t, s, actor, next, persistence.MaxSeq, -1)
		if !slices.Equal(r.seqs, seqRange(next, next+n-1)) || r.highest != next+n-1 {
			t.Fatalf("round %d: replayed %v highest %d after writer %d won with %d events at %d",
				round, r.seqs, r.highest, winner, n, next)
		}
		for i, e := range r.events {
			if want := fmt.Sprintf("round %d writer %d event %d", round, winner, i); string(e) != want {
				t.Fatalf("round %d: event %d = %q, want the winner's %q", round, next+uint64(i), e, want)
			}
		}
		next += n
	}
}

// testSameActorContention has several writers of one actor each append
// their own events, retrying on conflict from the highest seq they then
// read: nothing may be lost or duplicated, and the journal has no holes.
func testSameActorContention(t *testing.T, h Harness) {
	s, _ := open(t, h)
	const actor, writers, perWriter = "shared", 6, 30
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := 0; i < perWriter; {
				highest, err := s.HighestSeq(ctx, actor)
				if err != nil {
					errs <- err
					return
				}
				err = s.Append(ctx, actor, highest+1, [][]byte{fmt.Appendf(nil, "w%d-%d", w, i)})
				switch {
				case err == nil:
					i++
				case !persistence.IsSeqConflict(err):
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	r := replay(t, s, actor, 1, persistence.MaxSeq, -1)
	const total = writers * perWriter
	if !slices.Equal(r.seqs, seqRange(1, total)) || r.highest != total {
		t.Fatalf("replayed %d events, highest %d; want 1..%d", len(r.seqs), r.highest, total)
	}
	seen := make(map[string]bool)
	nextOf := make([]int, writers)
	for _, e := range r.events {
		var w, i int
		if _, err := fmt.Sscanf(string(e), "w%d-%d", &w, &i); err != nil || seen[string(e)] {
			t.Fatalf("unexpected or duplicate event %q", e)
		}
		seen[string(e)] = true
		if i != nextOf[w] {
			t.Fatalf("writer %d: event %d stored where %d was due", w, i, nextOf[w])
		}
		nextOf[w]++
	}
}

func testClosed(t *testing.T, h Harness) {
	s, _ := open(t, h)
	writeFixture(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil && !errors.Is(err, persistence.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	ops := map[string]error{}
	ops["Append"] = s.Append(ctx, fixtureActor, 6, evs(fixtureActor, 6, 1))
	_, ops["Replay"] = s.Replay(ctx, fixtureActor, 1, persistence.MaxSeq, -1, func(uint64, []byte) error { return nil })
	_, ops["HighestSeq"] = s.HighestSeq(ctx, fixtureActor)
	ops["DeleteRange"] = s.DeleteRange(ctx, fixtureActor, 1, 2)
	ops["DeleteRanges"] = s.DeleteRanges(ctx, fixtureActor, []persistence.SeqRange{{From: 1, To: 2}})
	ops["SaveSnapshot"] = s.SaveSnapshot(ctx, fixtureActor, 1, []byte("x"))
	_, _, _, ops["LoadSnapshot"] = s.LoadSnapshot(ctx, fixtureActor, 1)
	ops["DeleteSnapshots"] = s.DeleteSnapshots(ctx, fixtureActor, 1, 2)
	for op, err := range ops {
		if !errors.Is(err, persistence.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", op, err)
		}
	}
}
