// Package persistence stores each actor's event journal and snapshots.
//
// An actor's journal is its oplog: event N of an actor has sequence number
// N, numbers start at 1 and are never reused, not even after a delete. The
// interfaces are small so that a replicated journal can replace the local
// Pebble one without the actors noticing.
package persistence

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// MaxSeq is the upper bound to pass to Replay for "to the end".
const MaxSeq = math.MaxUint64

// Journal is an append-only, per-actor event log.
type Journal interface {
	// Append stores events as one atomic batch under sequence numbers
	// first, first+1, ... It fails with a *SeqConflictError unless first is
	// HighestSeq+1, so two writers of one actor can never both append. It
	// returns only once a later Replay is guaranteed to see the batch (for
	// the local journal: after fsync).
	Append(ctx context.Context, actorID string, first uint64, events [][]byte) error

	// Replay calls fn, in sequence order, for the stored events of actorID
	// with from <= seq <= to, at most max of them (max < 0: no limit). It
	// returns the actor's highest sequence number, which deletes never lower.
	Replay(ctx context.Context, actorID string, from, to uint64, max int, fn func(seq uint64, event []byte) error) (highest uint64, err error)

	// HighestSeq returns the highest sequence number ever appended for
	// actorID, 0 for an actor that never wrote.
	HighestSeq(ctx context.Context, actorID string) (uint64, error)

	// DeleteRange removes the events with from <= seq <= to. It does not
	// change HighestSeq.
	DeleteRange(ctx context.Context, actorID string, from, to uint64) error

	// DeleteRanges removes the events of every range, as one write (one
	// fsync, one replicated entry), however many ranges there are. It does
	// not change HighestSeq; an empty list writes nothing.
	DeleteRanges(ctx context.Context, actorID string, ranges []SeqRange) error
}

// SeqRange is the seqs From <= seq <= To (none when From > To).
type SeqRange struct{ From, To uint64 }

// SnapshotStore keeps snapshots of actor state by sequence number.
type SnapshotStore interface {
	// SaveSnapshot stores data as the state of actorID after event seq,
	// replacing any snapshot at the same seq.
	SaveSnapshot(ctx context.Context, actorID string, seq uint64, data []byte) error

	// LoadSnapshot returns the latest snapshot with seq <= maxSeq; found is
	// false when there is none.
	LoadSnapshot(ctx context.Context, actorID string, maxSeq uint64) (seq uint64, data []byte, found bool, err error)

	// DeleteSnapshots removes the snapshots with from <= seq <= to.
	DeleteSnapshots(ctx context.Context, actorID string, from, to uint64) error
}

// Store is what a node's actors persist through.
type Store interface {
	Journal
	SnapshotStore

	// ReadBarrier waits until every write committed anywhere before the
	// call is visible to this store's reads. A replicated store catches its
	// replica up with the group; the local PebbleStore returns nil at once.
	// An actor calls it before recovering, so that it sees its whole
	// journal whichever node it activates on.
	ReadBarrier(ctx context.Context) error

	Close() error
}

// SeqConflictError is returned by Append when the batch does not start
// right after the actor's highest sequence number.
type SeqConflictError struct {
	ActorID  string
	Expected uint64 // the first sequence number the journal would accept
	Got      uint64 // the first sequence number the caller asked for
}

func (e *SeqConflictError) Error() string {
	return fmt.Sprintf("journal %q: append at seq %d refused, next is %d", e.ActorID, e.Got, e.Expected)
}

// ErrClosed is returned by every call on a closed store.
var ErrClosed = errors.New("persistence: store closed")

// ErrInvalidActorID is returned for an empty actor id or one longer than
// MaxActorIDLen bytes.
var ErrInvalidActorID = errors.New("persistence: invalid actor id")

// MaxActorIDLen bounds actor ids so that keys stay small.
const MaxActorIDLen = 1024

// IsSeqConflict reports whether err is (or wraps) a *SeqConflictError.
func IsSeqConflict(err error) bool {
	var c *SeqConflictError
	return errors.As(err, &c)
}
