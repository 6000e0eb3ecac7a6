package state

import (
	"testing"

	"github.com/opsync/opsync/proto/opsyncpb"
)

func created(v uint64) *opsyncpb.Event {
	return &opsyncpb.Event{Kind: &opsyncpb.Event_EntityCreated{EntityCreated: &opsyncpb.EntityCreated{Entity: &opsyncpb.BlockEntity{BlockId: "b", Version: v}}}}
}

func updatedTo(v uint64) *opsyncpb.Event {
	return &opsyncpb.Event{Kind: &opsyncpb.Event_EntityUpdated{EntityUpdated: &opsyncpb.EntityUpdated{Entity: &opsyncpb.BlockEntity{BlockId: "b", Version: v}}}}
}

func deletedAt(v uint64) *opsyncpb.Event {
	return &opsyncpb.Event{Kind: &opsyncpb.Event_EntityDeleted{EntityDeleted: &opsyncpb.EntityDeleted{Tombstone: &opsyncpb.BlockEntity{BlockId: "b", Version: v, Deleted: true}}}}
}

func TestBlockApply(t *testing.T) {
	cases := []struct {
		name    string
		events  []*opsyncpb.Event
		version uint64
		fails   bool
	}{
		{"created", []*opsyncpb.Event{created(1)}, 1, false},
		{"updates raise the version", []*opsyncpb.Event{created(1), updatedTo(2), updatedTo(10)}, 10, false},
		{"an update to the same version", []*opsyncpb.Event{created(3), updatedTo(3)}, 3, true},
		{"an update to a lower version", []*opsyncpb.Event{created(3), updatedTo(2)}, 3, true},
		{"an update before the create", []*opsyncpb.Event{updatedTo(2)}, 0, true},
		{"created twice", []*opsyncpb.Event{created(1), created(2)}, 1, true},
		{"deleted", []*opsyncpb.Event{created(1), updatedTo(2), deletedAt(3)}, 3, false},
		{"a deletion alone (the events before it removed)", []*opsyncpb.Event{deletedAt(7)}, 7, false},
		{"deleted at a version not above", []*opsyncpb.Event{created(4), deletedAt(4)}, 4, true},
		{"deleted twice", []*opsyncpb.Event{created(1), deletedAt(2), deletedAt(3)}, 2, true},
		{"a deletion without its tombstone flag", []*opsyncpb.Event{created(1), {Kind: &opsyncpb.Event_EntityDeleted{EntityDeleted: &opsyncpb.EntityDeleted{Tombstone: &opsyncpb.BlockEntity{Version: 2}}}}}, 1, true},
		{"an update after the deletion", []*opsyncpb.Event{created(1), deletedAt(2), updatedTo(3)}, 2, true},
		{"created again above the tombstone", []*opsyncpb.Event{created(1), deletedAt(2), created(3), updatedTo(4)}, 4, false},
		{"created again below the tombstone", []*opsyncpb.Event{created(5), deletedAt(6), created(2)}, 6, true},
		{"another family's event", []*opsyncpb.Event{{Kind: &opsyncpb.Event_InstanceRegistered{InstanceRegistered: &opsyncpb.InstanceRegistered{}}}}, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := NewBlock()
			var err error
			for i, ev := range c.events {
				if err = b.Apply(uint64(i+1), ev); err != nil {
					break
				}
			}
			if (err != nil) != c.fails || b.Version() != c.version || b.Exists() == b.Deleted() && b.Entity() != nil {
				t.Fatalf("err %v, version %d; want fails=%v version %d", err, b.Version(), c.fails, c.version)
			}
		})
	}
}

func TestBlockSnapshotRestores(t *testing.T) {
	b := NewBlock()
	for i, ev := range []*opsyncpb.Event{created(1), updatedTo(4)} {
		if err := b.Apply(uint64(i+1), ev); err != nil {
			t.Fatal(err)
		}
	}
	r := RestoreBlock(b.Snapshot())
	if r.LastSeq() != 2 || r.Version() != 4 || !r.Exists() {
		t.Fatalf("restored seq %d version %d", r.LastSeq(), r.Version())
	}
	if err := r.Apply(2, updatedTo(5)); err == nil {
		t.Fatal("an event at a seq the snapshot covers was applied")
	}
}

func TestBlockTombstoneSnapshotRestoresDeleted(t *testing.T) {
	b := NewBlock()
	for i, ev := range []*opsyncpb.Event{created(1), deletedAt(2)} {
		if err := b.Apply(uint64(i+1), ev); err != nil {
			t.Fatal(err)
		}
	}
	r := RestoreBlock(b.Snapshot())
	if !r.Deleted() || r.Exists() || r.Version() != 2 {
		t.Fatalf("restored deleted=%v exists=%v version %d", r.Deleted(), r.Exists(), r.Version())
	}
}
