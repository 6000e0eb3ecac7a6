package actors

import (
	"errors"
	"sort"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// The statistics that no stored entry or sync point shows: non-persistent
// pushes and their arrivals, and the arrivals of global entries at the
// clients of this stream's user or device. The stream journals them as
// StatsCounted events (state.Stream counts them per day), one per append
// at most: what comes while one is queued joins it.

// maxTransientsTracked bounds the non-persistent entries a stream
// remembers having delivered, to count an ack of one as its arrival once.
// An ack of an older one (thousands of non-persistent pushes later) is not
// counted.
const maxTransientsTracked = 4096

// transientSent is a non-persistent entry delivered to some client.
type transientSent struct {
	id      uint64
	biz     string
	arrived bool // some client acknowledged it: counted
}

// countStats adds to the queued StatsCounted event, queueing one if none
// is. Below the disk's floor, where the store refuses every append, it
// counts nothing: a refused append would stop the stream, and a
// non-persistent push or an ack must not (they store nothing else).
func (a *streamActor) countStats(ctx actor.Context, pushes, arrivals uint32, global []*opsyncpb.SyncPoint) {
	if pushes == 0 && arrivals == 0 && len(global) == 0 {
		return
	}
	if a.belowFloor() {
		return
	}
	if a.queuedStats == nil {
		sc := &opsyncpb.StatsCounted{}
		a.queuedStats = sc
		a.j.persist(ctx, &pending{
			ev:    &opsyncpb.Event{Time: a.deps.now().UnixMilli(), Kind: &opsyncpb.Event_StatsCounted{StatsCounted: sc}},
			stamp: func(uint64) { a.queuedStats = nil },
		})
	}
	a.queuedStats.Pushes += pushes
	a.queuedStats.Arrivals += arrivals
	a.queuedStats.GlobalArrived = append(a.queuedStats.GlobalArrived, global...)
}

// belowFloor reports that the node's disk is below its floor, where the
// store refuses every append: what would be the only thing a stream writes
// (statistics, delivery counts) is not written then.
func (a *streamActor) belowFloor() bool {
	return a.deps.Space != nil && errors.Is(a.deps.Space.Err(), persistence.ErrDiskFull)
}

// sentTransient remembers a non-persistent entry some client got.
func (a *streamActor) sentTransient(e *opsyncpb.Entry) {
	a.transients = append(a.transients, transientSent{id: e.OplogId, biz: e.BizType})
	if n := len(a.transients) - maxTransientsTracked; n > 0 {
		a.transients = a.transients[n:]
	}
}

// transientArrivals marks the non-persistent entries of biz with ids in
// [from, to] acknowledged and returns how many of them no client had
// acknowledged before.
func (a *streamActor) transientArrivals(biz string, from, to uint64) uint32 {
	n := uint32(0)
	i := sort.Search(len(a.transients), func(i int) bool { return a.transients[i].id >= from })
	for ; i < len(a.transients) && a.transients[i].id <= to; i++ {
		if t := &a.transients[i]; t.biz == biz && !t.arrived {
			t.arrived = true
			n++
		}
	}
	return n
}

// arrivals counts the entries of biz a sync point reaching point is the
// first to acknowledge, as its event joins an append: those above every
// sync point applied and every one written before it (acked).
func (a *streamActor) arrivals(biz string, point uint64) uint32 {
	n := a.state.Arrivals(biz, a.acked[biz], point)
	a.acked[biz] = max(a.acked[biz], point)
	return uint32(n)
}

// onGlobalArrivals counts the global entries a client of this stream's
// user or device acknowledged.
func (a *streamActor) onGlobalArrivals(ctx actor.Context, m *opsyncpb.GlobalArrivals) {
	if a.j.failed || a.global {
		return
	}
	a.countStats(ctx, 0, 0, m.Entries)
	a.j.flush()
}
