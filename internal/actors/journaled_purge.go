package actors

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/opsync/opsync/internal/persistence"
)

// purge deletes every event and snapshot of the actor's journal without
// recovering it: the journal of a deleted environment's document, which
// no key opens any more. The journal keeps only its highest seq.
func (j *journaled[S]) purge(ctx actor.Context, init *cluster.ClusterInit) {
	j.self, j.root = ctx.Self(), ctx.ActorSystem().Root
	j.journal = JournalID(j.kind, init.Identity.Identity)
	journal := j.journal
	j.sideWork("purge", func(ctx context.Context, store persistence.Store) error {
		if err := store.DeleteRange(ctx, journal, 1, persistence.MaxSeq); err != nil {
			return err
		}
		return store.DeleteSnapshots(ctx, journal, 0, persistence.MaxSeq)
	})
}
