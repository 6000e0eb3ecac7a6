package actors

import (
	"bytes"
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/document"
	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Operations and snapshots are journaled sealed with the environment's
// key (events and the actor's snapshot), read back after a restart; a
// journal stored in clear before encryption still recovers; once the
// environment is deleted the session holds nothing and purges its
// journal.
func TestDocSessionSealed(t *testing.T) {
	const secret = "OP-SECRET-91"
	h := newDocTest(t, 3)
	journal := JournalID(KindDocSession, testDoc)
	h.send("ann", 0, secret+"1", secret+"2")
	if a := request[*opsyncpb.DocumentAnswer](t, h.system, h.pid, &opsyncpb.SubmitDocumentSnapshot{Snapshot: &opsyncpb.DocSnapshot{Version: 1, Data: []byte(secret + "-snap")}}); a.Code != "" {
		t.Fatalf("snapshot: %+v", a)
	}
	h.send("ann", 2, secret+"3")
	for _, ev := range h.store.events(t, journal) {
		if _, ok := ev.ev.Kind.(*opsyncpb.Event_DocSessionSealed); !ok {
			t.Fatalf("event %d journaled unsealed: %T", ev.seq, ev.ev.Kind)
		}
		if b, _ := proto.Marshal(ev.ev); bytes.Contains(b, []byte(secret)) {
			t.Fatalf("event %d holds an operation in clear", ev.seq)
		}
	}
	h.store.await(t, "a snapshot after SnapshotEvery events", func() bool { return len(h.store.snapshotsOf(journal)) > 0 })
	_, raw, found, err := h.store.MemStore.LoadSnapshot(context.Background(), journal, persistence.MaxSeq)
	if err != nil || !found || bytes.Contains(raw, []byte(secret)) {
		t.Fatalf("the snapshot holds the session in clear (found %v, %v)", found, err)
	}
	h.restart()
	e := h.editor("bob", 0)
	u := docUpdate(t, e.next(t))
	if string(u.Snapshot.GetData()) != secret+"-snap" || !equalStrs(opStrings(u.Ops), []string{secret + "2", secret + "3"}) || u.Ops[0].UserId != "ann" {
		t.Fatalf("recovered from the sealed snapshot and events: %+v", u)
	}

	// The environment deleted: nothing of the session opens or is served,
	// and its journal is purged.
	delete(h.keys, testInstance)
	h.system.Root.Stop(e.pid)
	h.restart()
	if a := h.send("bob", 0, "x"); a.Code != document.CodeForbidden {
		t.Fatalf("an op after the environment's deletion: %+v", a)
	}
	gone := h.editor("bob", 0)
	if d := gone.next(t); !d.state.Deleted || d.state.Version != 0 {
		t.Fatalf("an editor of a deleted environment's document got %+v", d.state)
	}
	h.store.await(t, "the journal purged", func() bool {
		_, _, found, err := h.store.MemStore.LoadSnapshot(context.Background(), journal, persistence.MaxSeq)
		return len(h.store.events(t, journal)) == 0 && !found && err == nil
	})
}

// A session journaled in clear before encryption recovers, and goes on
// sealed.
func TestDocSessionClearJournalRecovers(t *testing.T) {
	h := newDocTest(t, 0)
	journal := JournalID(KindDocSession, testDoc)
	ev := &opsyncpb.Event{Time: 1, Kind: &opsyncpb.Event_DocOpsAccepted{DocOpsAccepted: &opsyncpb.DocOpsAccepted{FirstVersion: 1, Ops: [][]byte{[]byte("old")}, UserId: "u"}}}
	b, _ := proto.Marshal(ev)
	if err := h.store.Append(context.Background(), journal, 1, [][]byte{b}); err != nil {
		t.Fatal(err)
	}
	h.restart()
	if a := h.send("u", 1, "new"); a.Code != "" || a.Version != 2 {
		t.Fatalf("after a clear journal: %+v", a)
	}
	h.restart()
	e := h.editor("v", 0)
	if u := docUpdate(t, e.next(t)); !equalStrs(opStrings(u.Ops), []string{"old", "new"}) {
		t.Fatalf("recovered: %+v", u)
	}
}
