package actors

import (
	"testing"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Ending a session through the REST API: its editors are told (a deleted
// update) and detached, its journal removed; the REST view answers it
// absent after; a new session starts at version 1.
func TestDocSessionEnd(t *testing.T) {
	h := newDocTest(t, 0)
	journal := JournalID(KindDocSession, testDoc)
	if c := request[*opsyncpb.DocumentCollaboration](t, h.system, h.pid, &opsyncpb.GetDocumentCollaboration{}); c.Exists {
		t.Fatalf("a document never opened has a session: %+v", c)
	}
	e := h.editor("ann", 0)
	h.send("ann", 0, "1", "2")
	e.next(t)
	if a := request[*opsyncpb.DocumentAnswer](t, h.system, h.pid, &opsyncpb.SubmitDocumentSnapshot{Snapshot: &opsyncpb.DocSnapshot{Version: 1, Data: []byte("S1")}}); a.Code != "" {
		t.Fatal(a)
	}
	c := request[*opsyncpb.DocumentCollaboration](t, h.system, h.pid, &opsyncpb.GetDocumentCollaboration{})
	if !c.Exists || c.Version != 2 || len(c.Users) != 1 || c.Users[0] != "ann" || string(c.Snapshot.GetData()) != "S1" || c.Ops != 1 {
		t.Fatalf("the REST view: %+v", c)
	}
	if c := request[*opsyncpb.DocumentCollaboration](t, h.system, h.pid, &opsyncpb.EndDocumentSession{}); !c.Exists {
		t.Fatalf("end: %+v", c)
	}
	if d := e.next(t); !d.state.Deleted || d.state.Version != 3 {
		t.Fatalf("the editor was told %+v", d.state)
	}
	h.store.await(t, "the journal removed", func() bool { return len(h.store.events(t, journal)) == 0 })
	if c := request[*opsyncpb.DocumentCollaboration](t, h.system, h.pid, &opsyncpb.GetDocumentCollaboration{}); c.Exists {
		t.Fatalf("after the end: %+v", c)
	}
	if c := request[*opsyncpb.DocumentCollaboration](t, h.system, h.pid, &opsyncpb.EndDocumentSession{}); c.Exists {
		t.Fatalf("ended twice: %+v", c)
	}
	// The editor is detached: a new session's updates do not reach it.
	if a := h.send("bob", 0, "n1"); a.Code != "" || a.Version != 1 {
		t.Fatalf("a new session: %+v", a)
	}
	if i := h.info(); i.Editors != 0 {
		t.Fatalf("editors after the end: %+v", i)
	}
	select {
	case d := <-e.got:
		t.Fatalf("a detached editor got %+v", d.state)
	default:
	}
}
