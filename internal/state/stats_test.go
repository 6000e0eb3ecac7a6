package state

import (
	"testing"

	"github.com/opsync/opsync/proto/opsyncpb"
)

func syncAt(ms int64, dev, biz string, id uint64, arrivals uint32) *opsyncpb.Event {
	return at(ms, &opsyncpb.Event{Kind: &opsyncpb.Event_SyncPointAdvanced{SyncPointAdvanced: &opsyncpb.SyncPointAdvanced{DeviceId: dev, BizType: biz, OplogId: id, Arrivals: arrivals}}})
}

func statsAt(ms int64, pushes, arrivals uint32, global ...*opsyncpb.SyncPoint) *opsyncpb.Event {
	return at(ms, &opsyncpb.Event{Kind: &opsyncpb.Event_StatsCounted{StatsCounted: &opsyncpb.StatsCounted{Pushes: pushes, Arrivals: arrivals, GlobalArrived: global}}})
}

func gp(biz string, id uint64) *opsyncpb.SyncPoint {
	return &opsyncpb.SyncPoint{BizType: biz, OplogId: id}
}

// The statistics count per UTC day what the events say happened, and
// keep StatsDays days before the newest.
func TestStreamStats(t *testing.T) {
	type counts struct{ since, pushes, arrivals int64 }
	cases := []struct {
		name string
		evs  []*opsyncpb.Event
		want []counts // Counts(since*day)
	}{
		{name: "appended entries are pushes, sync points bring their arrivals",
			evs:  []*opsyncpb.Event{pushed("A", "m1", 0, 30*day, 0), pushed("A", "m2", day, 31*day, 0), syncAt(day+5, "d1", "A", 2, 2)},
			want: []counts{{0, 2, 2}, {1, 1, 2}, {2, 0, 0}}},
		{name: "removed entries still count",
			evs:  []*opsyncpb.Event{pushed("A", "m1", 0, 30*day, 0), syncAt(1, "d1", "A", 1, 1), removedAt(2, 1)},
			want: []counts{{0, 1, 1}}},
		{name: "non-persistent pushes and arrivals",
			evs:  []*opsyncpb.Event{statsAt(0, 2, 0), statsAt(day, 1, 1)},
			want: []counts{{0, 3, 1}, {1, 1, 1}}},
		{name: "a global entry arrives once, however many devices acknowledge it",
			evs:  []*opsyncpb.Event{statsAt(0, 0, 0, gp("G", 3), gp("G", 1), gp("H", 1)), statsAt(1, 0, 0, gp("G", 3), gp("G", 2), gp("G", 4))},
			want: []counts{{0, 0, 4}}}, // G 1, 3, H 1, then G 4 (2 is below the highest counted)
		{name: "days beyond the 31 kept are forgotten",
			evs:  []*opsyncpb.Event{statsAt(0, 1, 0), statsAt(30*day, 1, 0), statsAt(31*day, 1, 0)},
			want: []counts{{0, 2, 0}, {31, 1, 0}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewStream()
			for i, ev := range c.evs {
				mustApply(t, s, uint64(i+1), ev)
			}
			r := RestoreStream(roundTrip(t, s.Snapshot()))
			for _, w := range c.want {
				for name, st := range map[string]*Stream{"applied": s, "restored": r} {
					if p, a := st.Counts(w.since * day); p != uint64(w.pushes) || a != uint64(w.arrivals) {
						t.Errorf("%s: Counts(day %d) = %d, %d; want %d, %d", name, w.since, p, a, w.pushes, w.arrivals)
					}
				}
			}
		})
	}
}

// Arrivals counts the retained entries of a bizType a sync point is the
// first to reach.
func TestStreamArrivals(t *testing.T) {
	s := NewStream()
	for i, biz := range []string{"A", "B", "A", "A"} { // A: 1, 3, 4
		mustApply(t, s, uint64(i+1), pushed(biz, "m", 0, day, 0))
	}
	mustApply(t, s, 5, syncAt(0, "d1", "A", 1, 1))
	for _, tc := range []struct {
		biz         string
		above, upTo uint64
		want        uint64
	}{
		{"A", 0, 4, 2},    // 3 and 4: d1 had 1
		{"A", 3, 4, 1},    // a sync point written, not applied yet, reached 3
		{"A", 0, 1, 0},    // nothing new
		{"A", 0, 2, 0},    // 2 is B's
		{"A", 0, 1000, 2}, // a point above the last entry
		{"A", 4, 4, 0},    // the point is the mark
		{"B", 0, 4, 1},    // 2
		{"B", 2, 4, 0},    // B's only entry is at the mark
		{"C", 0, 9, 0},    // no such entries
	} {
		if got := s.Arrivals(tc.biz, tc.above, tc.upTo); got != tc.want {
			t.Errorf("Arrivals(%s, %d, %d) = %d, want %d", tc.biz, tc.above, tc.upTo, got, tc.want)
		}
	}
}

func removedAt(ms int64, ids ...uint64) *opsyncpb.Event {
	return at(ms, &opsyncpb.Event{Kind: &opsyncpb.Event_EntriesRemoved{EntriesRemoved: &opsyncpb.EntriesRemoved{OplogIds: ids, Reason: opsyncpb.RemovalReason_REMOVAL_REASON_THRESHOLD}}})
}
