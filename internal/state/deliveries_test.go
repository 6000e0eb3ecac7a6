package state

import (
	"fmt"
	"testing"

	"github.com/opsync/opsync/proto/opsyncpb"
)

func counted(counts ...*opsyncpb.DeliveryCount) *opsyncpb.Event {
	return &opsyncpb.Event{Kind: &opsyncpb.Event_DeliveriesCounted{DeliveriesCounted: &opsyncpb.DeliveriesCounted{Counts: counts}}}
}

func delivered(dev string, id uint64, n uint32) *opsyncpb.DeliveryCount {
	return &opsyncpb.DeliveryCount{DeviceId: dev, OplogId: id, Deliveries: n}
}

func removed(reason opsyncpb.RemovalReason, ids ...uint64) *opsyncpb.Event {
	return &opsyncpb.Event{Kind: &opsyncpb.Event_EntriesRemoved{EntriesRemoved: &opsyncpb.EntriesRemoved{OplogIds: ids, Reason: reason}}}
}

// The deliveries a stream counted survive in its state as long as an
// entry is retained and not acknowledged by that device, and a snapshot
// carries them.
func TestStreamDeliveriesCounted(t *testing.T) {
	// Entries 1 (A), 2 (B), 3 (A) are applied first; then the events.
	cases := []struct {
		name   string
		events []*opsyncpb.Event
		want   string // Deliveries() as fmt prints it
	}{
		{name: "counted", events: []*opsyncpb.Event{counted(delivered("d1", 1, 2), delivered("d1", 3, 2), delivered("d2", 1, 3))},
			want: "map[d1:map[1:2 3:2] d2:map[1:3]]"},
		{name: "a later count replaces the earlier", events: []*opsyncpb.Event{counted(delivered("d1", 1, 2)), counted(delivered("d1", 1, 3))},
			want: "map[d1:map[1:3]]"},
		{name: "a count of 0 settles the entry (an ack without a sync point)",
			events: []*opsyncpb.Event{counted(delivered("d1", 1, 2), delivered("d1", 3, 2)), counted(delivered("d1", 1, 0), delivered("d1", 3, 0))},
			want:   "map[]"},
		{name: "an entry not retained is not counted", events: []*opsyncpb.Event{counted(delivered("d1", 9, 2))},
			want: "map[]"},
		{name: "a sync point settles the device's entries of its bizType up to it",
			events: []*opsyncpb.Event{counted(delivered("d1", 1, 2), delivered("d1", 2, 2), delivered("d1", 3, 2), delivered("d2", 1, 2)), syncPoint("d1", "A", 1)},
			want:   "map[d1:map[2:2 3:2] d2:map[1:2]]"},
		{name: "the user's sync point settles the single-device counts",
			events: []*opsyncpb.Event{counted(delivered(UserDevice, 1, 2), delivered("d1", 1, 2)), syncPoint(UserDevice, "A", 3)},
			want:   "map[d1:map[1:2]]"},
		{name: "a removal drops the entries' counts on every device",
			events: []*opsyncpb.Event{counted(delivered("d1", 1, 2), delivered("d2", 1, 2), delivered("d2", 3, 1)), removed(opsyncpb.RemovalReason_REMOVAL_REASON_RETRIES_EXHAUSTED, 1)},
			want:   "map[d2:map[3:1]]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewStream()
			mustApply(t, s, 1, entry("A", "m1"))
			mustApply(t, s, 2, entry("B", "m2"))
			mustApply(t, s, 3, entry("A", "m3"))
			for i, ev := range c.events {
				mustApply(t, s, uint64(4+i), ev)
			}
			if got := fmt.Sprint(s.Deliveries()); got != c.want {
				t.Fatalf("Deliveries() = %s, want %s", got, c.want)
			}
			if got := fmt.Sprint(restored(t, s).Deliveries()); got != c.want {
				t.Fatalf("restored Deliveries() = %s, want %s", got, c.want)
			}
		})
	}
}
