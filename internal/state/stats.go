package state

import (
	"cmp"
	"slices"
	"sort"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// StatsDays is how many UTC days of statistics a stream keeps: today and
// the 30 before, so that "the last 30 days" is always covered.
const StatsDays = 31

// dayMs is a day in milliseconds.
const dayMs = 24 * 60 * 60 * 1000

// dayStats is a stream's statistics of one UTC day: what happened, not
// what is still stored. pushes: entries appended, non-persistent pushes;
// arrivals: entries (own, non-persistent, global) some client of the
// stream's user or device acknowledged, each once.
type dayStats struct {
	day      int64 // days since the epoch
	pushes   uint64
	arrivals uint64
}

// count adds to the statistics of the day of timeMs, and forgets the days
// that fell out of the StatsDays before the newest one.
func (s *Stream) count(timeMs int64, pushes, arrivals uint64) {
	if pushes == 0 && arrivals == 0 {
		return
	}
	day := timeMs / dayMs
	i := sort.Search(len(s.days), func(i int) bool { return s.days[i].day >= day })
	if i == len(s.days) || s.days[i].day != day {
		s.days = slices.Insert(s.days, i, dayStats{day: day})
	}
	s.days[i].pushes += pushes
	s.days[i].arrivals += arrivals
	newest := s.days[len(s.days)-1].day
	drop := sort.Search(len(s.days), func(i int) bool { return s.days[i].day > newest-StatsDays })
	s.days = slices.Delete(s.days, 0, drop)
}

// Counts sums the statistics of the days from the day of sinceMs on.
func (s *Stream) Counts(sinceMs int64) (pushes, arrivals uint64) {
	first := sinceMs / dayMs
	for _, d := range s.days {
		if d.day >= first {
			pushes += d.pushes
			arrivals += d.arrivals
		}
	}
	return pushes, arrivals
}

// Arrivals counts the retained entries of bizType that a sync point
// reaching point acknowledges for the first time: those above the highest
// sync point any device has for it, and above above (the writer's own
// mark of sync points not applied yet).
func (s *Stream) Arrivals(bizType string, above, point uint64) uint64 {
	if point <= above {
		return 0 // before the walk over every device's sync points
	}
	for _, points := range s.syncPoints {
		above = max(above, points[bizType])
	}
	if point <= above {
		return 0
	}
	n := uint64(0)
	i := sort.Search(len(s.entries), func(i int) bool { return s.entries[i].OplogId > above })
	for _, e := range s.entries[i:] {
		if e.OplogId > point {
			break
		}
		if e.BizType == bizType {
			n++
		}
	}
	return n
}

// countStats applies a StatsCounted event: a global entry counts as an
// arrival once, when it is above the highest one counted of its bizType.
func (s *Stream) countStats(timeMs int64, c *opsyncpb.StatsCounted) {
	arrivals := uint64(c.Arrivals)
	global := slices.Clone(c.GlobalArrived)
	slices.SortFunc(global, func(a, b *opsyncpb.SyncPoint) int {
		return cmp.Or(cmp.Compare(a.BizType, b.BizType), cmp.Compare(a.OplogId, b.OplogId))
	})
	for _, g := range global {
		if g.OplogId > s.globalArrived[g.BizType] {
			s.globalArrived[g.BizType] = g.OplogId
			arrivals++
		}
	}
	s.count(timeMs, uint64(c.Pushes), arrivals)
}

func (s *Stream) statsSnapshot(snap *opsyncpb.StreamSnapshot) {
	for _, d := range s.days {
		snap.Days = append(snap.Days, &opsyncpb.DayCount{Day: d.day, Pushes: d.pushes, Arrivals: d.arrivals})
	}
	if len(s.globalArrived) > 0 {
		snap.GlobalArrived = make(map[string]uint64, len(s.globalArrived))
		for b, id := range s.globalArrived {
			snap.GlobalArrived[b] = id
		}
	}
}

func (s *Stream) restoreStats(snap *opsyncpb.StreamSnapshot) {
	for _, d := range snap.Days {
		s.days = append(s.days, dayStats{day: d.Day, pushes: d.Pushes, arrivals: d.Arrivals})
	}
	for b, id := range snap.GlobalArrived {
		s.globalArrived[b] = id
	}
}
