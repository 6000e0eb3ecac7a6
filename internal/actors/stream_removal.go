package actors

import (
	"context"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// sweep queues the removal of expired entries.
func (a *streamActor) sweep(ctx actor.Context) {
	a.queueRemoval(ctx, a.state.Expired(a.deps.now().UnixMilli()), opsyncpb.RemovalReason_REMOVAL_REASON_EXPIRED)
}

// queueRemoval queues the removal of entries (once each).
func (a *streamActor) queueRemoval(ctx actor.Context, ids []uint64, reason opsyncpb.RemovalReason) {
	var fresh []uint64
	for _, id := range ids {
		if !a.removal[id] {
			a.removal[id] = true
			fresh = append(fresh, id)
		}
	}
	if len(fresh) == 0 {
		return
	}
	a.j.persist(ctx, &pending{ev: &opsyncpb.Event{
		Time: a.deps.now().UnixMilli(),
		Kind: &opsyncpb.Event_EntriesRemoved{EntriesRemoved: &opsyncpb.EntriesRemoved{OplogIds: fresh, Reason: reason, Entries: a.state.Removing(fresh)}},
	}})
}

// deleteRecords deletes the journal records of removed entries, now that
// their removal is durable, one range per run of consecutive ids, all in
// one write, off the actor's loop.
func (a *streamActor) deleteRecords(ids []uint64) {
	if len(ids) == 0 {
		return
	}
	for _, id := range ids {
		delete(a.removal, id)
		for _, tries := range a.tries {
			delete(tries, id)
		}
		for _, s := range a.subs {
			delete(s.sent, id)
		}
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	journal := a.j.journal
	var ranges []persistence.SeqRange
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		ranges = append(ranges, persistence.SeqRange{From: ids[i], To: ids[j]})
		i = j + 1
	}
	a.j.sideWork("range delete", func(ctx context.Context, store persistence.Store) error {
		return store.DeleteRanges(ctx, journal, ranges)
	})
}

// trim queues the removal of entries beyond the threshold of the bizTypes
// that just got entries.
func (a *streamActor) trim(ctx actor.Context, fresh []*opsyncpb.Entry) {
	seen := map[string]bool{}
	for _, e := range fresh {
		if e.Threshold > 0 && !seen[e.BizType] {
			seen[e.BizType] = true
			a.queueRemoval(ctx, a.state.OverThreshold(e.BizType), opsyncpb.RemovalReason_REMOVAL_REASON_THRESHOLD)
		}
	}
}
