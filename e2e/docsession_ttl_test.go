package e2e

import (
	"testing"
	"time"
)

// An accepted operation survives kill -9 (a late joiner after the restart
// gets it); with --document-session-ttl 2s, once the last editor left and
// the TTL passed, the session's operations are gone (from the journal and
// the REST API, with the webhook collaboration.document.removed), while
// the document's comments, suggestions, revisions and users remain.
func TestDocSessionCrashAndTTL(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "--webhook-private", "--document-session-ttl", "2s")
	const inst, doc = "ws_DOCTTL", "doc-ttl"
	e := newDocEnv(t, srv.URL, inst)
	sink := newHookSink(t, "ttl-secret")
	setHooks(t, srv.URL, inst, map[string]any{"url": sink.srv.URL + "/hook", "secret": "ttl-secret", "events": []string{"collaboration.document.removed"}})
	e.must(201, "POST", "/users", map[string]any{"document_id": doc, "id": "ann", "name": "Ann"})
	e.must(201, "POST", "/threads", map[string]any{"document_id": doc, "id": "t1"})
	e.must(201, "POST", "/comments", map[string]any{"document_id": doc, "id": "c1", "thread_id": "t1", "user_id": "ann", "content": "kept"})
	e.must(201, "POST", "/suggestions", map[string]any{"document_id": doc, "id": "s1", "user_id": "ann", "type": "insertion"})
	e.must(201, "POST", "/revisions", map[string]any{"document_id": doc, "id": "r1", "name": "first", "from_version": 0, "to_version": 2})
	ann := dialEditor(t, srv.URL, inst, "ann", "", doc)
	if a := ann.send(t, 0, "o1", "o2"); a.Code != "" || a.Version != 2 {
		t.Fatalf("ops: %+v", a)
	}
	srv.kill9()
	ann.Close() // it would reconnect and open the document again

	srv = startServer(t, dir, "--webhook-private", "--document-session-ttl", "2s")
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

	srv = startServer(t, dir, "--webhook-private", "--document-session-ttl", "2s")
	e.base = srv.URL
	cid := dialEditor(t, srv.URL, inst, "cid", "", doc)
	cid.waitVersion(t, 3)
	if c := e.must(200, "GET", "/collaborations/"+doc, nil); c["version"] != float64(3) {
		t.Fatalf("the session through REST before the TTL: %v", c)
	}
	cid.Close() // the last editor leaves: the TTL starts
	awaitLog(t, srv, "document session ended")
	if x := e.do("GET", "/collaborations/"+doc, nil); x.status != 404 {
		t.Fatalf("the session through REST after the TTL: HTTP %d %s", x.status, x.raw)
	}
	for _, path := range []string{"/users/ann", "/threads/t1", "/comments/c1", "/suggestions/s1", "/revisions/r1"} {
		e.must(200, "GET", path+"?document_id="+doc, nil)
	}
	if got := firstOf(sink.await(1, 30*time.Second)); got[0].Event != "collaboration.document.removed" || got[0].Payload["reason"] != "expired" ||
		got[0].Payload["document"].(map[string]any)["version"] != float64(3) {
		t.Fatalf("webhook after the TTL: %+v", got)
	}
	srv.stop()
	if j, ok := docJournal(t, dir, "docsession:"+inst+"/d/"+doc); ok && (j.Events != 0 || j.SnapshotSeq != 0) {
		t.Fatalf("the session's journal after the TTL: %+v", j)
	}

	// A new session starts empty, at version 1.
	srv = startServer(t, dir, "--webhook-private", "--document-session-ttl", "2s")
	dan := dialEditor(t, srv.URL, inst, "dan", "", doc)
	if a := dan.send(t, 0, "fresh"); a.Code != "" || a.Version != 1 || len(a.Missed) != 0 {
		t.Fatalf("the session after the TTL: %+v", a)
	}
}
