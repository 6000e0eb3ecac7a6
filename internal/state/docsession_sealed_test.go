package state

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A toy seal (a prefix) is enough here: the state only calls its opener.
func toySeal(e *opsyncpb.DocSessionEvent) []byte {
	b, _ := proto.Marshal(e)
	return append([]byte("sealed:"), b...)
}

func toyOpen(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, []byte("sealed:")) {
		return nil, errors.New("not sealed with this key")
	}
	return b[len("sealed:"):], nil
}

// Sealed events apply like clear ones; a webhook's record neither counts
// as a change of the content (the TTL counts from the last operation) nor
// leaves the session empty of journal; hooked drops what the outbox has.
func TestDocSessionSealedEvents(t *testing.T) {
	d := NewDocSession().WithOpener(toyOpen)
	hook := &opsyncpb.DocHookEvent{EventId: "e1", Event: "collaboration.user.connected"}
	steps := []struct {
		time     int64
		ev       *opsyncpb.DocSessionEvent
		version  uint64
		updated  int64
		unhooked int
		users    []string
	}{
		{10, &opsyncpb.DocSessionEvent{Hook: hook, UserJoined: "ann"}, 0, 0, 1, []string{"ann"}},
		{20, &opsyncpb.DocSessionEvent{Ops: &opsyncpb.DocOpsAccepted{FirstVersion: 1, Ops: [][]byte{[]byte("a"), []byte("b")}}}, 2, 20, 1, []string{"ann"}},
		{30, &opsyncpb.DocSessionEvent{Hook: hook, UserJoined: "bob"}, 2, 20, 2, []string{"ann", "bob"}},
		{40, &opsyncpb.DocSessionEvent{Hooked: 1}, 2, 20, 1, []string{"ann", "bob"}},
		{50, &opsyncpb.DocSessionEvent{Snapshot: &opsyncpb.DocSnapshotSaved{Snapshot: &opsyncpb.DocSnapshot{Version: 2, Data: []byte("S")}}}, 2, 50, 1, []string{"ann", "bob"}},
		{60, &opsyncpb.DocSessionEvent{Hook: hook, UserLeft: "ann"}, 2, 50, 2, []string{"bob"}},
		{70, &opsyncpb.DocSessionEvent{Hooked: 6}, 2, 50, 0, []string{"bob"}},
	}
	for i, s := range steps {
		seq := uint64(i + 1)
		if err := d.Apply(seq, &opsyncpb.Event{Time: s.time, Kind: &opsyncpb.Event_DocSessionSealed{DocSessionSealed: toySeal(s.ev)}}); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if d.Version() != s.version || d.UpdatedAt() != s.updated || len(d.Unhooked()) != s.unhooked || !d.Held() || d.LastSeq() != seq || !slices.Equal(d.Users(), s.users) {
			t.Fatalf("step %d: version %d updated %d unhooked %d held %v users %v", i, d.Version(), d.UpdatedAt(), len(d.Unhooked()), d.Held(), d.Users())
		}
	}
	if r := RestoreSealedDocSession(d.SealedState()); r.Version() != 2 || string(r.Snapshot().GetData()) != "S" || r.LastSeq() != 7 || !slices.Equal(r.Users(), []string{"bob"}) {
		t.Fatalf("restored %+v", r.SnapshotState())
	}
	if c := d.Cleared(); c.Held() || c.LastSeq() != 7 || len(c.Users()) != 0 {
		t.Fatal("a cleared session still holds something")
	}
	sealed := &opsyncpb.Event{Kind: &opsyncpb.Event_DocSessionSealed{DocSessionSealed: []byte("other key")}}
	if err := d.Apply(8, sealed); err == nil {
		t.Fatal("an event sealed with another key applied")
	}
	if err := NewDocSession().Apply(1, &opsyncpb.Event{Kind: &opsyncpb.Event_DocSessionSealed{DocSessionSealed: toySeal(&opsyncpb.DocSessionEvent{Hooked: 1})}}); err == nil {
		t.Fatal("a sealed event applied without an opener")
	}
}
