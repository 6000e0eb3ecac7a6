package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

func (a *streamActor) onAck(ctx actor.Context, m *opsyncpb.AckSyncPoints) {
	if a.j.failed {
		return
	}
	sub := a.subs[subKey(actor.NewPID(m.ClientAddress, m.ClientId))]
	var transient uint32 // arrivals of non-persistent entries
	for biz, point := range m.Points {
		if point > a.j.highest {
			// Not an id of this stream's journal: a non-persistent entry's.
			transient += a.transientArrivals(biz, 0, point)
			continue
		}
		device := m.DeviceId
		if a.singleDevice(biz, point) {
			device = state.UserDevice
		}
		a.settle(sub, device, biz, point)
		if a.global {
			continue // global streams leave sync points to the clients
		}
		a.queueSyncPoint(ctx, device, biz, point)
	}
	for _, p := range m.Acked {
		if p.OplogId > a.j.highest {
			transient += a.transientArrivals(p.BizType, p.OplogId, p.OplogId)
		}
		if sub != nil {
			delete(sub.sent, p.OplogId)
		}
		a.forgetDeliveries(m.DeviceId, p.OplogId)
		a.forgetDeliveries(state.UserDevice, p.OplogId)
	}
	a.countStats(ctx, 0, transient, nil)
	a.j.flush()
}

// singleDevice reports whether the entries of biz up to point are
// single-device, as the entry at point is or, when that one was removed
// meanwhile (expired, say), the newest retained entry of biz below it.
// With none left that the user has not acknowledged, it does not matter.
func (a *streamActor) singleDevice(biz string, point uint64) bool {
	if ref, ok := a.state.Entry(point); ok {
		return ref.SingleDevice
	}
	single := false
	for _, ref := range a.state.EntriesAfter(map[string]uint64{biz: 0}) {
		if ref.OplogId > point {
			break
		}
		single = ref.SingleDevice
	}
	return single
}

// settle forgets the deliveries of bizType up to point: they are
// acknowledged.
func (a *streamActor) settle(sub *subscriber, device, biz string, point uint64) {
	for id := range a.tries[device] {
		if id <= point {
			if ref, ok := a.state.Entry(id); !ok || ref.BizType == biz {
				a.forgetDeliveries(device, id)
			}
		}
	}
	if sub == nil {
		return
	}
	for id := range sub.sent {
		if id <= point {
			if ref, ok := a.state.Entry(id); !ok || ref.BizType == biz {
				delete(sub.sent, id)
			}
		}
	}
}

// queueSyncPoint queues a device's new sync point; acks that arrive before
// it joins an append raise the queued one instead of adding events.
func (a *streamActor) queueSyncPoint(ctx actor.Context, device, biz string, point uint64) {
	k := syncKey{device, biz}
	if sp, ok := a.queuedSync[k]; ok {
		sp.OplogId = max(sp.OplogId, point)
		return
	}
	if point <= a.state.SyncPoint(device, biz) {
		return
	}
	sp := &opsyncpb.SyncPointAdvanced{DeviceId: device, BizType: biz, OplogId: point}
	a.queuedSync[k] = sp
	a.j.persist(ctx, &pending{
		ev: &opsyncpb.Event{Time: a.deps.now().UnixMilli(), Kind: &opsyncpb.Event_SyncPointAdvanced{SyncPointAdvanced: sp}},
		stamp: func(uint64) {
			delete(a.queuedSync, k)
			sp.Arrivals = a.arrivals(sp.BizType, sp.OplogId)
		},
	})
}
