package actors

import (
	"cmp"
	"slices"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Every delivery of an entry to a device counts against the entry's
// retries: after 1 + max_retries deliveries it is removed instead
// (stream_removal.go). The counts live in a.tries; the journal holds them
// too (DeliveriesCounted, state/deliveries.go), so that a new activation of
// the stream, after a restart, a failover or a passivation, goes on
// counting where the last one stopped rather than from zero, and an
// unacknowledged entry is still dropped after its last retry.
//
// What is written, and when: the count of every redelivery (a retry, or a
// backlog that sends an entry again), as one event for the redeliveries
// queued before the next append; the counts of first deliveries only
// before the stream passivates (a first delivery is the common case and
// costs no write; a crash loses it, so an entry may be delivered once more
// than its retries allow, never more); and a count of 0 when an ack
// settles an entry whose count was written, so that the stored counts are
// those of entries still unacknowledged.

// deliveryKey is one entry's deliveries to one device.
type deliveryKey struct {
	device string
	id     uint64
}

// countDelivery counts a delivery of e to device (state.UserDevice for a
// single-device entry). It reports false, counting nothing, when e has had
// its 1 + max_retries deliveries: it is to be removed instead.
func (a *streamActor) countDelivery(device string, e *opsyncpb.Entry) bool {
	tries := a.tries[device]
	if tries == nil {
		tries = map[uint64]uint32{}
		a.tries[device] = tries
	}
	n := tries[e.OplogId]
	if n >= 1+e.MaxRetries {
		return false
	}
	tries[e.OplogId] = n + 1
	if n > 0 {
		a.queueDeliveries(device, e.OplogId, n+1)
	}
	return true
}

// forgetDeliveries forgets device's count of an acknowledged entry, and
// settles it in the journal when the journal holds one.
func (a *streamActor) forgetDeliveries(device string, id uint64) {
	tries := a.tries[device]
	if _, ok := tries[id]; !ok {
		return
	}
	delete(tries, id)
	if len(tries) == 0 {
		delete(a.tries, device)
	}
	if a.state.Delivered(device, id) > 0 {
		a.queueDeliveries(device, id, 0)
	}
}

// queueDeliveries queues a count for the journal: every count queued
// before the next append starts goes in one event, the latest per entry.
// Below the disk's floor it queues nothing (a refused append would stop the
// stream, and a retry must not): the count stays in memory. It reports
// whether it queued the count.
func (a *streamActor) queueDeliveries(device string, id uint64, n uint32) bool {
	if a.belowFloor() {
		return false
	}
	if a.queuedTries != nil {
		a.queuedTries[deliveryKey{device, id}] = n
		return true
	}
	a.queuedTries = map[deliveryKey]uint32{{device, id}: n}
	c := &opsyncpb.DeliveriesCounted{}
	// No context: persist uses it only to call done, which this has none of.
	a.j.persist(nil, &pending{
		ev:    &opsyncpb.Event{Time: a.deps.now().UnixMilli(), Kind: &opsyncpb.Event_DeliveriesCounted{DeliveriesCounted: c}},
		stamp: func(uint64) { c.Counts = a.takeQueuedDeliveries() },
	})
	return true
}

// takeQueuedDeliveries empties the queued counts into their event, in
// device and oplog order.
func (a *streamActor) takeQueuedDeliveries() []*opsyncpb.DeliveryCount {
	out := make([]*opsyncpb.DeliveryCount, 0, len(a.queuedTries))
	for k, n := range a.queuedTries {
		out = append(out, &opsyncpb.DeliveryCount{DeviceId: k.device, OplogId: k.id, Deliveries: n})
	}
	a.queuedTries = nil
	slices.SortFunc(out, func(x, y *opsyncpb.DeliveryCount) int {
		return cmp.Or(cmp.Compare(x.DeviceId, y.DeviceId), cmp.Compare(x.OplogId, y.OplogId))
	})
	return out
}

// saveDeliveries queues the counts the journal does not hold yet (first
// deliveries) of retained entries, before the stream passivates; it
// reports whether it queued any.
func (a *streamActor) saveDeliveries() bool {
	saved := false
	for device, tries := range a.tries {
		for id, n := range tries {
			if _, retained := a.state.Entry(id); retained && !a.removal[id] && n > a.state.Delivered(device, id) {
				saved = a.queueDeliveries(device, id, n) || saved
			}
		}
	}
	return saved
}
