package state

import (
	"fmt"
	"strings"
	"testing"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// What the records tell of each retained entry: who acknowledged it (a
// device's sync point of its bizType, the user's for a single-device
// entry) and the most deliveries to a device that has not, from the
// journal's counts or from the counts the caller holds.
func TestStreamEntryStates(t *testing.T) {
	single := &opsyncpb.Event{Kind: &opsyncpb.Event_EntryAppended{EntryAppended: &opsyncpb.Entry{BizType: "S", ThirdMsgId: "m4", Payload: "p", SingleDevice: true}}}
	// Entries 1 (A), 2 (B), 3 (A), 4 (S, single-device) are applied first;
	// then the events.
	cases := []struct {
		name   string
		events []*opsyncpb.Event
		counts map[string]map[uint64]uint32
		want   string // oplog id:acked devices (quoted):deliveries, entry by entry
	}{
		{name: "nothing delivered", want: "1:[]:0 2:[]:0 3:[]:0 4:[]:0"},
		{name: "a sync point acknowledges its bizType's entries up to it, for its device",
			events: []*opsyncpb.Event{syncPoint("d2", "A", 1), syncPoint("d1", "A", 3), syncPoint("d1", "B", 1)},
			want:   "1:[\"d1\" \"d2\"]:0 2:[]:0 3:[\"d1\"]:0 4:[]:0"},
		{name: "the user acknowledges a single-device entry",
			events: []*opsyncpb.Event{syncPoint(UserDevice, "S", 4)},
			want:   "1:[]:0 2:[]:0 3:[]:0 4:[\"\"]:0"},
		{name: "journal counts: the most to one device",
			events: []*opsyncpb.Event{counted(delivered("d1", 2, 1), delivered("d2", 2, 3), delivered("d1", 3, 1), delivered(UserDevice, 4, 2))},
			want:   "1:[]:0 2:[]:3 3:[]:1 4:[]:2"},
		{name: "an acknowledged entry's count is settled",
			events: []*opsyncpb.Event{counted(delivered("d1", 1, 2), delivered("d2", 1, 1)), syncPoint("d1", "A", 1)},
			want:   "1:[\"d1\"]:1 2:[]:0 3:[]:0 4:[]:0"},
		{name: "the caller's counts replace the journal's",
			events: []*opsyncpb.Event{counted(delivered("d1", 2, 3))},
			counts: map[string]map[uint64]uint32{"d1": {1: 1}, "d2": {1: 2, 3: 1}},
			want:   "1:[]:2 2:[]:0 3:[]:1 4:[]:0"},
		{name: "a removed entry is not asked about; the rest keep theirs",
			events: []*opsyncpb.Event{counted(delivered("d1", 1, 2), delivered("d1", 3, 1)), removed(opsyncpb.RemovalReason_REMOVAL_REASON_RETRIES_EXHAUSTED, 1)},
			want:   "2:[]:0 3:[]:1 4:[]:0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewStream()
			mustApply(t, s, 1, entry("A", "m1"))
			mustApply(t, s, 2, entry("B", "m2"))
			mustApply(t, s, 3, entry("A", "m3"))
			mustApply(t, s, 4, single)
			for i, ev := range c.events {
				mustApply(t, s, uint64(5+i), ev)
			}
			var refs []Ref
			for _, id := range s.RetainedIDs() {
				e, _ := s.Entry(id)
				refs = append(refs, e)
			}
			var got []string
			for _, st := range s.EntryStates(refs, c.counts) {
				got = append(got, fmt.Sprintf("%d:%q:%d", st.OplogId, st.AckedDevices, st.Deliveries))
			}
			if g := strings.Join(got, " "); g != c.want {
				t.Fatalf("states %q, want %q", g, c.want)
			}
		})
	}
}
