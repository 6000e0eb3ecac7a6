package events

import (
	"fmt"
	"sort"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Stream is the state of one user or device stream: the entries it retains,
// the idempotency keys of those entries, and each device's sync points.
type Stream struct {
	lastSeq    uint64
	entries    []*opsyncpb.EntryRef // ascending oplog id
	keys       map[idemKey]uint64
	syncPoints map[string]map[string]uint64 // device -> bizType -> oplog id
}

// idemKey is the source's idempotency key within one stream (whose
// linkToken is fixed): bizType + thirdMsgId.
type idemKey struct{ biz, msg string }

// NewStream returns the state of a stream that has no events.
func NewStream() *Stream {
	return &Stream{keys: map[idemKey]uint64{}, syncPoints: map[string]map[string]uint64{}}
}

// LastSeq is the sequence number of the last applied event.
func (s *Stream) LastSeq() uint64 { return s.lastSeq }

// Len is the number of retained entries.
func (s *Stream) Len() int { return len(s.entries) }

// Duplicate returns the oplog id of the retained entry with this bizType and
// thirdMsgId, if there is one.
func (s *Stream) Duplicate(bizType, thirdMsgID string) (uint64, bool) {
	id, ok := s.keys[idemKey{bizType, thirdMsgID}]
	return id, ok
}

// SyncPoint is the highest oplog id of bizType that device acknowledged.
func (s *Stream) SyncPoint(device, bizType string) uint64 {
	return s.syncPoints[device][bizType]
}

// EntriesAfter returns the retained entries of the given bizTypes whose
// oplog id is above the bizType's value in after, in oplog order.
func (s *Stream) EntriesAfter(after map[string]uint64) []*opsyncpb.EntryRef {
	low := uint64(0)
	first := true
	for _, a := range after {
		if first || a < low {
			low, first = a, false
		}
	}
	i := sort.Search(len(s.entries), func(i int) bool { return s.entries[i].OplogId > low })
	var out []*opsyncpb.EntryRef
	for _, e := range s.entries[i:] {
		if a, ok := after[e.BizType]; ok && e.OplogId > a {
			out = append(out, e)
		}
	}
	return out
}

// Apply applies the event stored under seq. Events must come in sequence
// order; a gap is allowed (deleted events are never replayed) but going
// back is an error.
func (s *Stream) Apply(seq uint64, ev *opsyncpb.Event) error {
	if seq <= s.lastSeq {
		return fmt.Errorf("events: stream event %d applied after %d", seq, s.lastSeq)
	}
	switch k := ev.Kind.(type) {
	case *opsyncpb.Event_EntryAppended:
		e := k.EntryAppended
		s.entries = append(s.entries, &opsyncpb.EntryRef{
			OplogId:      seq,
			BizType:      e.BizType,
			ThirdMsgId:   e.ThirdMsgId,
			ValidTimeEnd: e.ValidTimeEnd,
			PushTime:     e.PushTime,
		})
		s.keys[idemKey{e.BizType, e.ThirdMsgId}] = seq
	case *opsyncpb.Event_SyncPointAdvanced:
		p := k.SyncPointAdvanced
		dev := s.syncPoints[p.DeviceId]
		if dev == nil {
			dev = map[string]uint64{}
			s.syncPoints[p.DeviceId] = dev
		}
		if p.OplogId > dev[p.BizType] {
			dev[p.BizType] = p.OplogId
		}
	default:
		return fmt.Errorf("events: %T is not a stream event", ev.Kind)
	}
	s.lastSeq = seq
	return nil
}

// Snapshot returns the state as a message to store.
func (s *Stream) Snapshot() *opsyncpb.StreamSnapshot {
	snap := &opsyncpb.StreamSnapshot{LastSeq: s.lastSeq, Entries: s.entries}
	devices := make([]string, 0, len(s.syncPoints))
	for d := range s.syncPoints {
		devices = append(devices, d)
	}
	sort.Strings(devices)
	for _, d := range devices {
		points := make(map[string]uint64, len(s.syncPoints[d]))
		for b, p := range s.syncPoints[d] {
			points[b] = p
		}
		snap.SyncPoints = append(snap.SyncPoints, &opsyncpb.DeviceSyncPoints{DeviceId: d, Points: points})
	}
	return snap
}

// RestoreStream rebuilds the state a snapshot was taken of.
func RestoreStream(snap *opsyncpb.StreamSnapshot) *Stream {
	s := NewStream()
	s.lastSeq = snap.LastSeq
	s.entries = snap.Entries
	for _, e := range s.entries {
		s.keys[idemKey{e.BizType, e.ThirdMsgId}] = e.OplogId
	}
	for _, d := range snap.SyncPoints {
		points := make(map[string]uint64, len(d.Points))
		for b, p := range d.Points {
			points[b] = p
		}
		s.syncPoints[d.DeviceId] = points
	}
	return s
}
