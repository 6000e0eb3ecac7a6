package actors

import (
	"math"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A block's deletion: EntityDeleted journals its tombstone, a version
// above every one before, which its viewers receive as the last
// StateUpdate (deleted set); then the journal is removed. A block bound to
// a business id keeps its tombstone as its only snapshot, so that a create
// with that business id (the same block id) starts above it and no viewer
// ever goes back; any other block keeps nothing (its id is never created
// again).

func (a *blockActor) onDelete(ctx actor.Context) {
	if !a.exists() {
		respond(ctx, a.notFound())
		return
	}
	prev := a.latest
	if prev.Version == math.MaxUint64 {
		respond(ctx, &opsyncpb.EntityAnswer{Code: BlockVersionConflict, Entity: &opsyncpb.BlockEntity{BlockId: prev.BlockId, Version: prev.Version},
			Detail: "the block is at the highest version: its deletion has no version above it"})
		return
	}
	now := a.j.deps.now().UnixMilli()
	tomb := &opsyncpb.BlockEntity{BlockId: prev.BlockId, BusinessId: prev.BusinessId, Version: prev.Version + 1,
		CreatedAt: prev.CreatedAt, UpdatedAt: now, Deleted: true}
	a.latest = tomb
	sender := ctx.Sender()
	ev := &opsyncpb.Event{Time: now, Kind: &opsyncpb.Event_EntityDeleted{EntityDeleted: &opsyncpb.EntityDeleted{Tombstone: tomb}}}
	a.j.persist(ctx, &pending{ev: ev, done: func(ctx actor.Context, _ uint64, err error) {
		if err != nil {
			sendTo(ctx, sender, &opsyncpb.EntityAnswer{Code: BlockSystemError, Detail: err.Error()})
			return
		}
		metrics.BlockDeletes.Inc()
		sendTo(ctx, sender, &opsyncpb.EntityAnswer{Entity: tomb, Viewers: uint32(len(a.viewers))})
		// Viewers stay subscribed: a block created again under the same
		// id reaches them, as a block opened before its creation does.
		a.publish(ctx, tomb, a.viewers)
		a.j.removeJournal(tomb.BusinessId != "")
	}})
	a.j.flush()
}
