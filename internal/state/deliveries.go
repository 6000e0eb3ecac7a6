package state

import (
	"maps"
	"slices"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// The deliveries a stream counted against its entries' retries, as far as
// they are in its journal (DeliveriesCounted): by device (UserDevice for
// single-device entries), then oplog id. A count goes when its entry is
// removed or the device's sync point passes it, so the map holds only
// retained entries some device has not acknowledged.

// Deliveries returns a copy of the counted deliveries, device -> oplog id
// -> deliveries: where a new activation of the stream resumes counting.
func (s *Stream) Deliveries() map[string]map[uint64]uint32 {
	out := make(map[string]map[uint64]uint32, len(s.deliveries))
	for d, counts := range s.deliveries {
		out[d] = maps.Clone(counts)
	}
	return out
}

// Delivered is the deliveries of oplogID to device the journal holds.
func (s *Stream) Delivered(device string, oplogID uint64) uint32 {
	return s.deliveries[device][oplogID]
}

// countDeliveries applies DeliveriesCounted: each count replaces the one
// before (the stream's counts only rise, until an ack settles them: 0), and
// only a retained entry's is kept (one removed since has no retries left
// to count).
func (s *Stream) countDeliveries(c *opsyncpb.DeliveriesCounted) {
	for _, dc := range c.Counts {
		counts := s.deliveries[dc.DeviceId]
		if _, ok := s.Entry(dc.OplogId); !ok || dc.Deliveries == 0 {
			delete(counts, dc.OplogId)
			if len(counts) == 0 {
				delete(s.deliveries, dc.DeviceId)
			}
			continue
		}
		if counts == nil {
			counts = map[uint64]uint32{}
			s.deliveries[dc.DeviceId] = counts
		}
		counts[dc.OplogId] = dc.Deliveries
	}
}

// settleDeliveries forgets device's counts of bizType's entries up to
// point (and of entries no longer retained): they are acknowledged.
func (s *Stream) settleDeliveries(device, bizType string, point uint64) {
	counts := s.deliveries[device]
	for id := range counts {
		if id > point {
			continue
		}
		if e, ok := s.Entry(id); !ok || e.BizType == bizType {
			delete(counts, id)
		}
	}
	if len(counts) == 0 {
		delete(s.deliveries, device)
	}
}

// forgetDeliveries drops the counts of removed entries.
func (s *Stream) forgetDeliveries(gone map[uint64]bool) {
	for d, counts := range s.deliveries {
		for id := range counts {
			if gone[id] {
				delete(counts, id)
			}
		}
		if len(counts) == 0 {
			delete(s.deliveries, d)
		}
	}
}

// deliveriesSnapshot lists the counts by device, then oplog id.
func (s *Stream) deliveriesSnapshot() []*opsyncpb.DeliveryCount {
	var out []*opsyncpb.DeliveryCount
	for _, d := range slices.Sorted(maps.Keys(s.deliveries)) {
		counts := s.deliveries[d]
		for _, id := range slices.Sorted(maps.Keys(counts)) {
			out = append(out, &opsyncpb.DeliveryCount{DeviceId: d, OplogId: id, Deliveries: counts[id]})
		}
	}
	return out
}

func (s *Stream) restoreDeliveries(counts []*opsyncpb.DeliveryCount) {
	s.countDeliveries(&opsyncpb.DeliveriesCounted{Counts: counts})
}
