package persistence

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// ApplyBatch collects the writes of several replicated log entries into one
// Pebble commit. A replicated journal's state machine applies a whole batch
// of committed entries with it: one commit, and (because the replicated log
// is the durable copy) usually without fsync.
//
// Append checks the expected sequence number against the store as it will
// be after the batch's earlier writes, so the check gives the same answer on
// every replica applying the same entries in the same order.
//
// ApplyBatch takes no per-actor locks: the state machine must be the only
// writer of the store while it uses batches. Close must be called; it holds
// off the store's Close until then.
type ApplyBatch struct {
	s       *PebbleStore
	b       *pebble.Batch
	release func()
	// highest holds the highest seqs this batch has set, which the store
	// does not show until Commit.
	highest map[string]uint64
}

// NewApplyBatch starts a batch. It fails with ErrClosed or ErrReadOnly.
func (s *PebbleStore) NewApplyBatch() (*ApplyBatch, error) {
	if s.readOnly {
		return nil, ErrReadOnly
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, ErrClosed
	}
	return &ApplyBatch{s: s, b: s.db.NewBatch(), release: s.closeMu.RUnlock, highest: make(map[string]uint64)}, nil
}

// Append adds events as Journal.Append would store them. It returns a
// *SeqConflictError, ErrInvalidActorID or an error for an empty batch, and
// then adds nothing.
func (a *ApplyBatch) Append(actorID string, first uint64, events [][]byte) error {
	if err := CheckActorID(actorID); err != nil {
		return err
	}
	if len(events) == 0 {
		return fmt.Errorf("persistence: append to %q: no events", actorID)
	}
	highest, ok := a.highest[actorID]
	if !ok {
		var err error
		if highest, err = a.s.highest(a.s.db, actorID); err != nil {
			return err
		}
	}
	last := first + uint64(len(events)) - 1
	if first != highest+1 || last < first {
		return &SeqConflictError{ActorID: actorID, Expected: highest + 1, Got: first}
	}
	key := actorPrefix(kindEvent, actorID)
	prefixLen := len(key)
	for i, ev := range events {
		key = binary.BigEndian.AppendUint64(key[:prefixLen], first+uint64(i))
		if err := a.b.Set(key, ev, nil); err != nil {
			return fmt.Errorf("persistence: append to %q: %w", actorID, err)
		}
	}
	if err := a.b.Set(highestKey(actorID), encodeSeq(last), nil); err != nil {
		return fmt.Errorf("persistence: append to %q: %w", actorID, err)
	}
	a.highest[actorID] = last
	return nil
}

// DeleteRange adds Journal.DeleteRange's delete.
func (a *ApplyBatch) DeleteRange(actorID string, from, to uint64) error {
	return a.deleteRange(kindEvent, actorID, from, to)
}

// DeleteSnapshots adds SnapshotStore.DeleteSnapshots's delete.
func (a *ApplyBatch) DeleteSnapshots(actorID string, from, to uint64) error {
	return a.deleteRange(kindSnapshot, actorID, from, to)
}

func (a *ApplyBatch) deleteRange(kind byte, actorID string, from, to uint64) error {
	if err := CheckActorID(actorID); err != nil {
		return err
	}
	if from > to {
		return nil
	}
	lower, upper := seqBounds(kind, actorID, from, to)
	if err := a.b.DeleteRange(lower, upper, nil); err != nil {
		return fmt.Errorf("persistence: delete %q %d..%d: %w", actorID, from, to, err)
	}
	return nil
}

// SaveSnapshot adds SnapshotStore.SaveSnapshot's write.
func (a *ApplyBatch) SaveSnapshot(actorID string, seq uint64, data []byte) error {
	if err := CheckActorID(actorID); err != nil {
		return err
	}
	if err := a.b.Set(seqKey(kindSnapshot, actorID, seq), data, nil); err != nil {
		return fmt.Errorf("persistence: save snapshot %q@%d: %w", actorID, seq, err)
	}
	return nil
}

// SetMeta adds a write of a metadata value (for instance the replicated
// log index the batch brings the store to). Metadata lives under keys of
// its own that no journal listing shows.
func (a *ApplyBatch) SetMeta(name string, value []byte) error {
	if err := a.b.Set(metaKey(name), value, nil); err != nil {
		return fmt.Errorf("persistence: set meta %q: %w", name, err)
	}
	return nil
}

// Commit writes the batch atomically; with sync it returns after fsync.
// The batch cannot be used afterwards, but Close must still be called.
func (a *ApplyBatch) Commit(sync bool) error {
	opts := pebble.NoSync
	if sync {
		opts = pebble.Sync
	}
	n := a.b.Len()
	err := a.b.Commit(opts)
	a.s.forget(a.highest) // the store's cached seqs of these actors are stale now
	if err != nil {
		a.s.space.Sample()
		return fmt.Errorf("persistence: commit apply batch: %w", err)
	}
	// Not refused below the floor, unlike Append: a replica applies what
	// its raft group committed, or it would diverge. It counts, though.
	a.s.space.Wrote(n)
	return nil
}

// Close releases the batch (discarding it unless committed).
func (a *ApplyBatch) Close() {
	if a.release == nil {
		return
	}
	_ = a.b.Close()
	a.release()
	a.release = nil
}

// Meta returns a metadata value set through an ApplyBatch or
// ImportCheckpoint; found is false when it was never set.
func (s *PebbleStore) Meta(name string) (value []byte, found bool, err error) {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return nil, false, ErrClosed
	}
	v, closer, err := s.db.Get(metaKey(name))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("persistence: get meta %q: %w", name, err)
	}
	defer closer.Close()
	return append([]byte(nil), v...), true, nil
}

// SetMetaSync writes a metadata value with fsync. Since the write-ahead log
// is synced in order, it also makes every earlier unsynced write durable.
func (s *PebbleStore) SetMetaSync(name string, value []byte) error {
	if s.readOnly {
		return ErrReadOnly
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.db.Set(metaKey(name), value, pebble.Sync); err != nil {
		return fmt.Errorf("persistence: set meta %q: %w", name, err)
	}
	return nil
}
