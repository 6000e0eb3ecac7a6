package persistence

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
)

// MemStore is a Store kept in memory, for fast unit tests of actors. It
// behaves as the PebbleStore does (sequence checks, highest seqs that
// deletes never lower, copies in and out, ErrClosed after Close) but keeps
// nothing on disk. It is safe for concurrent use.
//
// Reopen hands out a new handle on the same data, which is how a test
// restarts an actor system "from disk". FailAppends makes appends fail, for
// tests of how actors handle a journal that refuses writes.
type MemStore struct {
	d *memData

	// Guarded by d.mu, so that a call holding d.mu sees a consistent state
	// and nothing is written through a handle once its Close returned.
	closed      bool
	failAppends error
}

// memData is what the handles of one MemStore share: one lock around every
// actor's journal and snapshots.
type memData struct {
	mu     sync.RWMutex
	actors map[string]*memActor
}

type memActor struct {
	highest   uint64
	events    []memEntry // ascending seq
	snapshots []memEntry // ascending seq
}

type memEntry struct {
	seq  uint64
	data []byte
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty, open MemStore.
func NewMemStore() *MemStore {
	return &MemStore{d: &memData{actors: make(map[string]*memActor)}}
}

// Reopen returns a new open handle on s's data, as OpenPebble on the same
// directory returns after a restart: everything acknowledged through any
// handle is there. It does not close s (a test modelling a restart closes
// s first), and s's FailAppends setting does not carry over.
func (s *MemStore) Reopen() *MemStore { return &MemStore{d: s.d} }

// FailAppends makes every later Append through this handle fail with err,
// returned as is, without storing anything: as if the disk refused the
// write. FailAppends(nil) lets appends through again. Argument errors
// (empty batch, invalid actor id, cancelled context) and ErrClosed still
// come first; sequence conflicts are not checked while appends fail. The
// other calls are not affected.
func (s *MemStore) FailAppends(err error) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.failAppends = err
}

// Close closes this handle; later calls through it return ErrClosed. The
// data stays for Reopen. Close may be called again and returns nil.
func (s *MemStore) Close() error {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.closed = true
	return nil
}

// checkCall validates the arguments every per-actor call takes, in the
// order the PebbleStore does.
func checkCall(ctx context.Context, actorID string) error {
	if err := CheckActorID(actorID); err != nil {
		return err
	}
	return ctx.Err()
}

// Append implements Journal.
func (s *MemStore) Append(ctx context.Context, actorID string, first uint64, events [][]byte) error {
	if len(events) == 0 {
		return fmt.Errorf("persistence: append to %q: no events", actorID)
	}
	if err := checkCall(ctx, actorID); err != nil {
		return err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.failAppends != nil {
		return s.failAppends
	}
	a := s.d.actors[actorID]
	var highest uint64
	if a != nil {
		highest = a.highest
	}
	last := first + uint64(len(events)) - 1
	// first = 0 can never be highest+1 (it only looks so after MaxSeq);
	// last < first is overflow.
	if first == 0 || first != highest+1 || last < first {
		return &SeqConflictError{ActorID: actorID, Expected: highest + 1, Got: first}
	}
	if a == nil {
		a = &memActor{}
		s.d.actors[actorID] = a
	}
	// Every stored seq is <= highest < first, so appending keeps the order.
	for i, ev := range events {
		a.events = append(a.events, memEntry{seq: first + uint64(i), data: cloneBytes(ev)})
	}
	a.highest = last
	return nil
}

// HighestSeq implements Journal.
func (s *MemStore) HighestSeq(ctx context.Context, actorID string) (uint64, error) {
	if err := checkCall(ctx, actorID); err != nil {
		return 0, err
	}
	s.d.mu.RLock()
	defer s.d.mu.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	if a := s.d.actors[actorID]; a != nil {
		return a.highest, nil
	}
	return 0, nil
}

// Replay implements Journal. The events and highest come from one
// point-in-time view; fn runs without the store's lock held, so it may call
// the store, and gets a copy of each event it may keep.
func (s *MemStore) Replay(ctx context.Context, actorID string, from, to uint64, max int, fn func(seq uint64, event []byte) error) (uint64, error) {
	if err := checkCall(ctx, actorID); err != nil {
		return 0, err
	}
	highest, found, err := s.collect(actorID, from, to, max)
	if err != nil {
		return 0, err
	}
	for _, e := range found {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := fn(e.seq, e.data); err != nil {
			return 0, err
		}
	}
	return highest, nil
}

// collect copies out, under the lock, what Replay hands to fn.
func (s *MemStore) collect(actorID string, from, to uint64, max int) (uint64, []memEntry, error) {
	s.d.mu.RLock()
	defer s.d.mu.RUnlock()
	if s.closed {
		return 0, nil, ErrClosed
	}
	a := s.d.actors[actorID]
	if a == nil {
		return 0, nil, nil
	}
	if max == 0 || from > to {
		return a.highest, nil, nil
	}
	lo, hi := memRange(a.events, from, to)
	if max > 0 && hi-lo > max {
		hi = lo + max
	}
	found := make([]memEntry, 0, hi-lo)
	for _, e := range a.events[lo:hi] {
		found = append(found, memEntry{seq: e.seq, data: cloneBytes(e.data)})
	}
	return a.highest, found, nil
}

// DeleteRange implements Journal. It leaves the highest seq alone.
func (s *MemStore) DeleteRange(ctx context.Context, actorID string, from, to uint64) error {
	return s.deleteRange(ctx, actorID, from, to, func(a *memActor) *[]memEntry { return &a.events })
}

// DeleteRanges implements Journal (range by range: nobody reads a
// MemStore between them but a test, which waits for the call's end).
func (s *MemStore) DeleteRanges(ctx context.Context, actorID string, ranges []SeqRange) error {
	if err := checkCall(ctx, actorID); err != nil {
		return err
	}
	for _, r := range ranges {
		if err := s.DeleteRange(ctx, actorID, r.From, r.To); err != nil {
			return err
		}
	}
	return nil
}

// DeleteSnapshots implements SnapshotStore.
func (s *MemStore) DeleteSnapshots(ctx context.Context, actorID string, from, to uint64) error {
	return s.deleteRange(ctx, actorID, from, to, func(a *memActor) *[]memEntry { return &a.snapshots })
}

func (s *MemStore) deleteRange(ctx context.Context, actorID string, from, to uint64, list func(*memActor) *[]memEntry) error {
	if err := checkCall(ctx, actorID); err != nil {
		return err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	a := s.d.actors[actorID]
	if a == nil || from > to {
		return nil
	}
	l := list(a)
	lo, hi := memRange(*l, from, to)
	*l = slices.Delete(*l, lo, hi)
	return nil
}

// SaveSnapshot implements SnapshotStore.
func (s *MemStore) SaveSnapshot(ctx context.Context, actorID string, seq uint64, data []byte) error {
	if err := checkCall(ctx, actorID); err != nil {
		return err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	a := s.d.actors[actorID]
	if a == nil {
		// An actor may save snapshots without ever appending; its highest
		// seq stays 0, as in the PebbleStore.
		a = &memActor{}
		s.d.actors[actorID] = a
	}
	i := sort.Search(len(a.snapshots), func(i int) bool { return a.snapshots[i].seq >= seq })
	e := memEntry{seq: seq, data: cloneBytes(data)}
	if i < len(a.snapshots) && a.snapshots[i].seq == seq {
		a.snapshots[i] = e
	} else {
		a.snapshots = slices.Insert(a.snapshots, i, e)
	}
	return nil
}

// LoadSnapshot implements SnapshotStore.
func (s *MemStore) LoadSnapshot(ctx context.Context, actorID string, maxSeq uint64) (uint64, []byte, bool, error) {
	if err := checkCall(ctx, actorID); err != nil {
		return 0, nil, false, err
	}
	s.d.mu.RLock()
	defer s.d.mu.RUnlock()
	if s.closed {
		return 0, nil, false, ErrClosed
	}
	a := s.d.actors[actorID]
	if a == nil {
		return 0, nil, false, nil
	}
	i := sort.Search(len(a.snapshots), func(i int) bool { return a.snapshots[i].seq > maxSeq })
	if i == 0 {
		return 0, nil, false, nil
	}
	e := a.snapshots[i-1]
	return e.seq, cloneBytes(e.data), true, nil
}

// ReadBarrier implements Store: every acknowledged write is visible
// already. It returns ErrClosed after Close, like every other call.
func (s *MemStore) ReadBarrier(ctx context.Context) error {
	s.d.mu.RLock()
	defer s.d.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// memRange returns the index range [lo, hi) of the entries with
// from <= seq <= to in a list sorted by seq.
func memRange(l []memEntry, from, to uint64) (lo, hi int) {
	lo = sort.Search(len(l), func(i int) bool { return l[i].seq >= from })
	hi = lo + sort.Search(len(l)-lo, func(i int) bool { return l[lo+i].seq > to })
	return lo, hi
}

// cloneBytes copies b; the copy of an empty slice is nil, as the
// PebbleStore hands empty values out.
func cloneBytes(b []byte) []byte { return append([]byte(nil), b...) }
