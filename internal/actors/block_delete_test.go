package actors

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A deletion: the viewers get the tombstone (deleted, the next version) as
// a last update, later requests answer NOT_FOUND, the journal's events
// are removed, and the block stays deleted across a restart. A block of a
// business id keeps its tombstone, so that it is created again above it;
// another block keeps nothing.
func TestBlockDelete(t *testing.T) {
	for _, c := range []struct {
		name       string
		businessID string
		snapEvery  int
	}{
		{"business id", "poll-1", 1000},
		{"business id, snapshots", "poll-1", 2},
		{"random id", "", 1000},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newBlockTest(t, c.snapEvery)
			e := entity(3, `{"a":1}`)
			e.BusinessId = c.businessID
			h.ask(&opsyncpb.CreateEntity{Entity: e})
			h.ask(&opsyncpb.UpdateEntity{Entity: entity(0, `{"a":2}`)})
			v := h.viewer("alice")
			if d := v.next(t); d.state.GetVersion() != 4 {
				t.Fatalf("at subscribe: %+v", d.state)
			}
			a := h.ask(&opsyncpb.DeleteEntity{})
			if a.Code != "" || !a.Entity.GetDeleted() || a.Entity.Version != 5 {
				t.Fatalf("delete: %+v", a)
			}
			if d := v.next(t); !d.state.GetDeleted() || d.state.Version != 5 {
				t.Fatalf("the viewer's last update: %+v", d.state)
			}
			journal := JournalID(KindBlock, testBlock)
			store := h.deps.Store.(*testStore)
			wantSnap := uint64(0)
			if c.businessID != "" {
				wantSnap = 3 // the tombstone, at the deletion's seq
			}
			store.await(t, "the journal removed", func() bool {
				return len(store.events(t, journal)) == 0 && store.snapshotSeq(t, journal) == wantSnap
			})
			for round := range 2 {
				for _, m := range []any{&opsyncpb.GetEntity{}, &opsyncpb.UpdateEntity{Entity: entity(0, "{}")}, &opsyncpb.DeleteEntity{}} {
					if a := h.ask(m); a.Code != BlockNotFound {
						t.Fatalf("round %d, %T after the deletion: %+v", round, m, a)
					}
				}
				sent := request[*opsyncpb.TypedMessageSent](t, h.system, h.pid, &opsyncpb.SendTypedMessage{UserIds: []string{"alice"}, Message: &opsyncpb.TypedMessage{Type: "x"}})
				if sent.Code != BlockNotFound {
					t.Fatalf("round %d, typed message after the deletion: %+v", round, sent)
				}
				h.restart()
			}
			if c.businessID == "" {
				return
			}
			// Created again: above the tombstone, and its viewers (opened
			// now, the tombstone first) see it.
			late := h.viewer("bob")
			if d := late.next(t); !d.state.GetDeleted() || d.state.Version != 5 {
				t.Fatalf("a viewer of the deleted block got %+v", d.state)
			}
			if a := h.ask(&opsyncpb.CreateEntity{Entity: entity(5, "{}")}); a.Code != BlockVersionConflict {
				t.Fatalf("created again at the tombstone's version: %+v", a)
			}
			if a := h.ask(&opsyncpb.CreateEntity{Entity: entity(0, `{"b":1}`)}); a.Code != "" || !a.Created || a.Entity.Version != 6 {
				t.Fatalf("created again: %+v", a)
			}
			if d := late.next(t); d.state.GetDeleted() || d.state.Version != 6 {
				t.Fatalf("the viewer got %+v after the re-creation", d.state)
			}
		})
	}
}

// GetEntity counts the viewers per node.
func TestBlockViewersByNode(t *testing.T) {
	h := newBlockTest(t, 0)
	h.ask(&opsyncpb.CreateEntity{Entity: entity(1, "{}")})
	a1, a2 := h.viewer("a"), h.viewer("b")
	a := h.ask(&opsyncpb.GetEntity{})
	if a.Viewers != 2 || len(a.ViewersByNode) != 1 || a.ViewersByNode[a1.pid.Address] != 2 || a2.pid.Address != a1.pid.Address {
		t.Fatalf("viewers %d by node %v", a.Viewers, a.ViewersByNode)
	}
}

// A crash between a deletion and the end of its journal's removal: the
// next activation recovers the deleted block and removes the journal.
func TestBlockDeleteFinishesAnInterruptedRemoval(t *testing.T) {
	for _, businessID := range []string{"poll-1", ""} {
		store := newTestStore()
		journal := JournalID(KindBlock, testBlock)
		var evs [][]byte
		for _, ev := range []*opsyncpb.Event{
			{Kind: &opsyncpb.Event_EntityCreated{EntityCreated: &opsyncpb.EntityCreated{Entity: &opsyncpb.BlockEntity{BlockId: "blk_test", BusinessId: businessID, Version: 1}}}},
			{Kind: &opsyncpb.Event_EntityDeleted{EntityDeleted: &opsyncpb.EntityDeleted{Tombstone: &opsyncpb.BlockEntity{BlockId: "blk_test", BusinessId: businessID, Version: 2, Deleted: true}}}},
		} {
			b, err := proto.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, b)
		}
		if err := store.MemStore.Append(context.Background(), journal, 1, evs); err != nil {
			t.Fatal(err)
		}
		d := (&Deps{Store: store, Clock: newFakeClock(), Logger: quiet}).withDefaults()
		h := &blockTest{t: t, system: newSystem(t), deps: d}
		h.start()
		if a := h.ask(&opsyncpb.GetEntity{}); a.Code != BlockNotFound {
			t.Fatalf("business id %q: %+v", businessID, a)
		}
		wantSnap := uint64(0)
		if businessID != "" {
			wantSnap = 2
		}
		store.await(t, "the journal removed", func() bool {
			return len(store.events(t, journal)) == 0 && store.snapshotSeq(t, journal) == wantSnap
		})
	}
}
