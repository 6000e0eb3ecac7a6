package persistence

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// DeleteRanges implements Journal: one batch, one fsync.
func (s *PebbleStore) DeleteRanges(ctx context.Context, actorID string, ranges []SeqRange) error {
	release, err := s.enter(ctx, actorID, true)
	if err != nil {
		return err
	}
	defer release()
	b := s.db.NewBatch()
	defer b.Close()
	if err := deleteEventRanges(b, actorID, ranges); err != nil {
		return err
	}
	if b.Empty() {
		return nil
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("persistence: delete %q ranges: %w", actorID, err)
	}
	return nil
}

// DeleteRanges adds Journal.DeleteRanges's deletes.
func (a *ApplyBatch) DeleteRanges(actorID string, ranges []SeqRange) error {
	if err := CheckActorID(actorID); err != nil {
		return err
	}
	return deleteEventRanges(a.b, actorID, ranges)
}

// deleteEventRanges adds the deletes of actorID's events in ranges to b: a
// point tombstone for a single seq (a stream's trim deletes many sync
// points between retained entries, and reads skip point tombstones more
// cheaply than a fragmented pile of range tombstones), a range tombstone
// otherwise.
func deleteEventRanges(b *pebble.Batch, actorID string, ranges []SeqRange) error {
	for _, r := range ranges {
		var err error
		switch {
		case r.From > r.To:
			continue
		case r.From == r.To:
			err = b.Delete(seqKey(kindEvent, actorID, r.From), nil)
		default:
			lower, upper := seqBounds(kindEvent, actorID, r.From, r.To)
			err = b.DeleteRange(lower, upper, nil)
		}
		if err != nil {
			return fmt.Errorf("persistence: delete %q %d..%d: %w", actorID, r.From, r.To, err)
		}
	}
	return nil
}
