package state

import (
	"fmt"
	"sort"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Stream is the state of one user, device or global stream: the entries
// it retains, the idempotency keys of its pushes (idempotency.go), each
// device's sync points, and its per-day statistics (stats.go).
type Stream struct {
	lastSeq     uint64
	entries     []Ref             // ascending oplog id (entry_ref.go)
	bizNames    map[string]string // the one copy of each bizType name the entries share
	keys        map[keyHash]keyRef
	keysSweptAt int64                        // event time of the last sweep of the keys
	syncPoints  map[string]map[string]uint64 // device -> bizType -> oplog id
	dropped     uint64                       // entries removed after their last retry

	days          []dayStats        // ascending day, at most StatsDays
	globalArrived map[string]uint64 // global bizType -> the highest oplog id counted as arrived

	deliveries map[string]map[uint64]uint32 // device -> oplog id -> deliveries counted (deliveries.go)
}

// UserDevice is the device id under which a stream records the sync points
// of single-device entries: there the user, not each device, acknowledges.
const UserDevice = ""

// NewStream returns the state of a stream that has no events.
func NewStream() *Stream {
	return &Stream{keys: map[keyHash]keyRef{}, syncPoints: map[string]map[string]uint64{}, globalArrived: map[string]uint64{},
		deliveries: map[string]map[uint64]uint32{}}
}

// LastSeq is the sequence number of the last applied event.
func (s *Stream) LastSeq() uint64 { return s.lastSeq }

// RetainedIDs are the oplog ids of the retained entries, ascending.
func (s *Stream) RetainedIDs() []uint64 {
	out := make([]uint64, len(s.entries))
	for i, e := range s.entries {
		out[i] = e.OplogId
	}
	return out
}

// Len is the number of retained entries.
func (s *Stream) Len() int { return len(s.entries) }

// SyncPoint is the highest oplog id of bizType that device acknowledged.
func (s *Stream) SyncPoint(device, bizType string) uint64 {
	return s.syncPoints[device][bizType]
}

// EntriesAfter returns the retained entries of the given bizTypes whose
// oplog id is above the bizType's value in after, in oplog order. A
// single-device entry is above the user's sync point too: once any device
// acknowledged it, no device gets it again.
func (s *Stream) EntriesAfter(after map[string]uint64) []Ref {
	var out []Ref
	s.EachAfter(after, func(e Ref) bool {
		out = append(out, e)
		return true
	})
	return out
}

// EachAfter calls fn with the entries EntriesAfter returns, in oplog
// order, until fn returns false: a page of a backlog costs what the page
// holds, not a copy of the whole backlog.
func (s *Stream) EachAfter(after map[string]uint64, fn func(Ref) bool) {
	if len(after) == 0 {
		return
	}
	low := uint64(0)
	first := true
	for _, a := range after {
		if first || a < low {
			low, first = a, false
		}
	}
	user := s.syncPoints[UserDevice]
	i := sort.Search(len(s.entries), func(i int) bool { return s.entries[i].OplogId > low })
	for _, e := range s.entries[i:] {
		a, ok := after[e.BizType]
		if !ok || e.OplogId <= a || (e.SingleDevice && e.OplogId <= user[e.BizType]) {
			continue
		}
		if !fn(e) {
			return
		}
	}
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
		s.entries = append(s.entries, Ref{
			OplogId:      seq,
			BizType:      s.intern(e.BizType),
			ThirdMsgId:   e.ThirdMsgId,
			ValidTimeEnd: e.ValidTimeEnd,
			PushTime:     e.PushTime,
			DeleteAfter:  e.DeleteAfter,
			Threshold:    e.Threshold,
			MaxRetries:   e.MaxRetries,
			SingleDevice: e.SingleDevice,
			Size:         EntrySize(e),
		})
		s.keys[hashKey(e.BizType, e.ThirdMsgId)] = keyRef{oplogID: seq, until: keyUntil(e)}
		s.forgetKeys(ev.Time)
		s.count(ev.Time, 1, 0)
	case *opsyncpb.Event_SyncPointAdvanced:
		p := k.SyncPointAdvanced
		dev := s.syncPoints[p.DeviceId]
		if dev == nil {
			dev = map[string]uint64{}
			s.syncPoints[p.DeviceId] = dev
		}
		s.count(ev.Time, 0, uint64(p.Arrivals))
		if p.OplogId > dev[p.BizType] {
			dev[p.BizType] = p.OplogId
		}
		s.settleDeliveries(p.DeviceId, p.BizType, p.OplogId)
	case *opsyncpb.Event_EntriesRemoved:
		s.remove(k.EntriesRemoved)
	case *opsyncpb.Event_StatsCounted:
		s.countStats(ev.Time, k.StatsCounted)
	case *opsyncpb.Event_DeliveriesCounted:
		s.countDeliveries(k.DeliveriesCounted)
	default:
		return fmt.Errorf("events: %T is not a stream event", ev.Kind)
	}
	s.lastSeq = seq
	return nil
}

func (s *Stream) remove(r *opsyncpb.EntriesRemoved) {
	gone := make(map[uint64]bool, len(r.OplogIds))
	for _, id := range r.OplogIds {
		gone[id] = true
	}
	// A replay that finds an entry's record deleted (its EntryAppended
	// with it) takes its key and its count from the removal instead.
	for _, re := range r.Entries {
		if k := re.Key; k != nil {
			if _, applied := s.Entry(k.OplogId); !applied && s.keys[keyOf(k.Hash)].oplogID < k.OplogId {
				s.restoreKey(k)
				s.count(re.PushTime, 1, 0)
			}
		}
	}
	kept := s.entries[:0]
	for _, e := range s.entries {
		if !gone[e.OplogId] {
			kept = append(kept, e)
			continue
		}
		// Its idempotency key stays: a repeat is refused for the key's
		// time, not the entry's.
		if r.Reason == opsyncpb.RemovalReason_REMOVAL_REASON_RETRIES_EXHAUSTED {
			s.dropped++
		}
	}
	clear(s.entries[len(kept):]) // their strings
	s.entries = kept
	s.forgetDeliveries(gone)
}

// Removing describes the retained entries ids for their removal event.
func (s *Stream) Removing(ids []uint64) []*opsyncpb.RemovedEntry {
	out := make([]*opsyncpb.RemovedEntry, 0, len(ids))
	for _, id := range ids {
		e, ok := s.Entry(id)
		if !ok {
			continue
		}
		h := hashKey(e.BizType, e.ThirdMsgId)
		ref := s.keys[h]
		if ref.oplogID != id { // a later push took the key over
			ref.until = e.DeleteAfter
		}
		out = append(out, &opsyncpb.RemovedEntry{
			Key:      &opsyncpb.IdempotencyKey{Hash: h[:], OplogId: id, Until: ref.until},
			PushTime: e.PushTime,
		})
	}
	return out
}

// Entry returns the retained entry with oplogID.
func (s *Stream) Entry(oplogID uint64) (Ref, bool) {
	i := sort.Search(len(s.entries), func(i int) bool { return s.entries[i].OplogId >= oplogID })
	if i < len(s.entries) && s.entries[i].OplogId == oplogID {
		return s.entries[i], true
	}
	return Ref{}, false
}

// Expired returns the retained entries whose delete_after has passed at
// nowMs, in oplog order.
func (s *Stream) Expired(nowMs int64) []uint64 {
	var out []uint64
	for _, e := range s.entries {
		if e.DeleteAfter > 0 && e.DeleteAfter <= nowMs {
			out = append(out, e.OplogId)
		}
	}
	return out
}

// OverThreshold returns the oldest entries of bizType beyond the newest
// threshold ones, as the bizType's newest entry sets the threshold (0:
// none).
func (s *Stream) OverThreshold(bizType string) []uint64 {
	var ids []uint64
	var threshold uint32
	for _, e := range s.entries {
		if e.BizType == bizType {
			ids = append(ids, e.OplogId)
			threshold = e.Threshold
		}
	}
	if threshold == 0 || len(ids) <= int(threshold) {
		return nil
	}
	return ids[:len(ids)-int(threshold)]
}

// Dropped is the number of entries removed after their last retry.
func (s *Stream) Dropped() uint64 { return s.dropped }

// Status summarizes the stream since sinceMs: its statistics from that
// day on (Counts), and the newest limit of the retained entries pushed at
// or after sinceMs.
func (s *Stream) Status(sinceMs int64, limit int) (pushes, arrivals uint64, newest []Ref) {
	for i := len(s.entries) - 1; i >= 0 && len(newest) < limit; i-- {
		if e := s.entries[i]; e.PushTime >= sinceMs {
			newest = append(newest, e)
		}
	}
	pushes, arrivals = s.Counts(sinceMs)
	return pushes, arrivals, newest
}

// Snapshot returns the state as a message to store.
func (s *Stream) Snapshot() *opsyncpb.StreamSnapshot {
	snap := &opsyncpb.StreamSnapshot{LastSeq: s.lastSeq, Entries: refsProto(s.entries), Dropped: s.dropped, Keys: s.keysSnapshot(),
		Deliveries: s.deliveriesSnapshot()}
	s.statsSnapshot(snap)
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
	s.entries = make([]Ref, len(snap.Entries))
	for i, e := range snap.Entries {
		s.entries[i] = s.refOf(e)
	}
	s.dropped = snap.Dropped
	s.restoreKeys(snap.Keys)
	s.restoreStats(snap)
	for _, d := range snap.SyncPoints {
		points := make(map[string]uint64, len(d.Points))
		for b, p := range d.Points {
			points[b] = p
		}
		s.syncPoints[d.DeviceId] = points
	}
	s.restoreDeliveries(snap.Deliveries)
	return s
}
