package actors

import (
	"context"
	"log/slog"

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
	journal, log := j.journal, j.deps.Logger.With(slog.String("actor", JournalID(j.kind, init.Identity.Identity)))
	j.sideWork("purge", func(ctx context.Context, store persistence.Store) error {
		if err := store.DeleteRange(ctx, journal, 1, persistence.MaxSeq); err != nil {
			return err
		}
		if err := store.DeleteSnapshots(ctx, journal, 0, persistence.MaxSeq); err != nil {
			return err
		}
		log.Info("journal purged: its environment was deleted")
		return nil
	})
}
