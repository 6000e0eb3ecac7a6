package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A stream does not know its instance's configs; it learns which bizTypes'
// deletions became final (and the push time before which their entries
// go) from those who do: a subscribing client, which read its instance's
// configs at connect, and the node's sweeper, which wakes every stream
// with its instance's answer. Either way the entries are removed (an
// EntriesRemoved event, then range deletes) before anything more is
// delivered.

// purge queues the removal of the entries of each bizType in before that
// were pushed before its cutoff (ms).
func (a *streamActor) purge(ctx actor.Context, before map[string]int64) {
	for biz, cut := range before {
		a.queueRemoval(ctx, a.state.PushedBefore(biz, cut), opsyncpb.RemovalReason_REMOVAL_REASON_BIZ_TYPE_DELETED)
	}
}

// onSweep deletes what the node's sweeper came for: the entries of
// bizTypes deleted for good, and expired ones.
func (a *streamActor) onSweep(ctx actor.Context, m *opsyncpb.SweepStream) {
	if !a.j.failed {
		a.purge(ctx, m.PurgedBefore)
		a.sweep(ctx)
		a.j.flush()
	}
	respond(ctx, &opsyncpb.StreamSwept{Stream: a.identity})
}
