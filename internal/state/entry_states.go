package state

import (
	"maps"
	"slices"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// EntryStates tells what became of each of entries, for the records: the
// devices whose sync point of its bizType reached it (UserDevice for a
// single-device entry the user acknowledged), and the most deliveries
// counted against its retries to one device that has not acknowledged it.
//
// counts are the deliveries the caller counted (device -> oplog id ->
// deliveries) and replace the journal's: the stream actor counts first
// deliveries in memory and writes them only before it passivates
// (actors/stream_retries.go), so its counts are newer. nil takes the
// journal's (what a new activation resumes from).
func (s *Stream) EntryStates(entries []Ref, counts map[string]map[uint64]uint32) []*opsyncpb.EntryState {
	if counts == nil {
		counts = s.deliveries
	}
	devices := slices.Sorted(maps.Keys(s.syncPoints))
	out := make([]*opsyncpb.EntryState, 0, len(entries))
	for _, e := range entries {
		st := &opsyncpb.EntryState{OplogId: e.OplogId}
		for _, d := range devices {
			if e.OplogId <= s.syncPoints[d][e.BizType] {
				st.AckedDevices = append(st.AckedDevices, d)
			}
		}
		for _, byID := range counts {
			st.Deliveries = max(st.Deliveries, byID[e.OplogId])
		}
		out = append(out, st)
	}
	return out
}
