package actors

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// recoverTimeout bounds a recovery whose caller set no deadline: on a
// replicated journal without a reachable majority it fails rather than
// hangs.
const recoverTimeout = 15 * time.Second

// recoverState rebuilds an actor's state: from the latest snapshot (if
// any, decoded by restore), else from empty(), then every later journal
// event is applied. It returns the state and the journal's highest
// sequence number, which may be above the state's last applied one when
// the newest events were deleted.
func recoverState[S eventSourced](ctx context.Context, store persistence.Store, journal string,
	empty func() S, restore func([]byte) (S, error)) (S, uint64, error) {
	state := empty()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, recoverTimeout)
		defer cancel()
	}
	// On a replicated journal this node's replica may lag the group: an
	// actor that moved here must not recover from less than was committed
	// (it would reuse sequence numbers its last activation wrote).
	if err := store.ReadBarrier(ctx); err != nil {
		return state, 0, fmt.Errorf("read barrier before recovering %s: %w", journal, err)
	}
	_, data, found, err := store.LoadSnapshot(ctx, journal, persistence.MaxSeq)
	if err != nil {
		return state, 0, fmt.Errorf("load snapshot of %s: %w", journal, err)
	}
	if found {
		if state, err = restore(data); err != nil {
			return empty(), 0, fmt.Errorf("decode snapshot of %s: %w", journal, err)
		}
	}
	highest, err := store.Replay(ctx, journal, state.LastSeq()+1, persistence.MaxSeq, -1, func(seq uint64, b []byte) error {
		ev := &opsyncpb.Event{}
		if err := proto.Unmarshal(b, ev); err != nil {
			return fmt.Errorf("decode event %d: %w", seq, err)
		}
		return state.Apply(seq, ev)
	})
	if err != nil {
		return state, 0, fmt.Errorf("replay %s: %w", journal, err)
	}
	return state, max(highest, state.LastSeq()), nil
}

// restoreWith decodes a snapshot message of type M and rebuilds the state
// from it: the restore function of recover for a state package's Restore.
func restoreWith[S eventSourced, M proto.Message](newSnap func() M, restore func(M) S) func([]byte) (S, error) {
	return func(data []byte) (S, error) {
		snap := newSnap()
		if err := proto.Unmarshal(data, snap); err != nil {
			var zero S
			return zero, err
		}
		return restore(snap), nil
	}
}
