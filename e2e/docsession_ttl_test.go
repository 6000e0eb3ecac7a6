package e2e

import (
	"testing"
)

// An accepted operation survives kill -9 (a late joiner after the restart
// gets it); with --document-session-ttl 2s, once the last editor left and
// the TTL passed, the session's operations are gone from the journal.
func TestDocSessionCrashAndTTL(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "--document-session-ttl", "2s")
	const inst, doc = "ws_DOCTTL", "doc-ttl"
	createInstance(t, srv.URL, inst)
	ann := dialEditor(t, srv.URL, inst, "ann", "", doc)
	if a := ann.send(t, 0, "o1", "o2"); a.Code != "" || a.Version != 2 {
		t.Fatalf("ops: %+v", a)
	}
	srv.kill9()
	ann.Close() // it would reconnect and open the document again

	srv = startServer(t, dir, "--document-session-ttl", "2s")
	bob := dialEditor(t, srv.URL, inst, "bob", "", doc)
	bob.waitVersion(t, 2)
	if ops := bob.doc.Ops(); len(ops) != 2 || string(ops[0].Data) != "o1" || string(ops[1].Data) != "o2" || ops[0].UserID != "ann" {
		t.Fatalf("after kill -9 the late joiner has %+v", ops)
	}
	if a := bob.send(t, 2, "o3"); a.Code != "" || a.Version != 3 {
		t.Fatalf("after the restart: %+v", a)
	}
	srv.stop()
	bob.Close()
	if j, ok := docJournal(t, dir, "docsession:"+inst+"/d/"+doc); !ok || j.Events == 0 {
		t.Fatalf("the session's journal before the TTL: %+v (listed %v)", j, ok)
	}

	srv = startServer(t, dir, "--document-session-ttl", "2s")
	cid := dialEditor(t, srv.URL, inst, "cid", "", doc)
	cid.waitVersion(t, 3)
	cid.Close() // the last editor leaves: the TTL starts
	awaitLog(t, srv, "document session expired")
	srv.stop()
	if j, ok := docJournal(t, dir, "docsession:"+inst+"/d/"+doc); ok && (j.Events != 0 || j.SnapshotSeq != 0) {
		t.Fatalf("the session's journal after the TTL: %+v", j)
	}

	// A new session starts empty, at version 1.
	srv = startServer(t, dir, "--document-session-ttl", "2s")
	dan := dialEditor(t, srv.URL, inst, "dan", "", doc)
	if a := dan.send(t, 0, "fresh"); a.Code != "" || a.Version != 1 || len(a.Missed) != 0 {
		t.Fatalf("the session after the TTL: %+v", a)
	}
}
