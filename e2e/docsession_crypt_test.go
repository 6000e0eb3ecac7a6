package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opsync/opsync/internal/document"
)

// A sentinel sent as document operations and as a snapshot appears
// nowhere in plaintext in the data directory (after kill -9: in the
// write-ahead log; and in the actor's snapshot, taken every 2 events);
// read back it is whole; after the environment is deleted its session
// refuses editors and its journal is purged.
func TestDocSessionEncryptedAtRest(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "--snapshot-every", "2")
	const inst, doc = "ws_DOCCRYPT", "doc-crypt-session"
	const sentinel = "SENTINEL-e41b07-operation"
	createInstance(t, srv.URL, inst)
	ann := dialEditor(t, srv.URL, inst, "ann", "", doc)
	if a := ann.send(t, 0, sentinel+"-1", sentinel+"-2"); a.Code != "" || a.Version != 2 {
		t.Fatalf("ops: %+v", a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if a, err := ann.doc.SendSnapshot(ctx, 2, []byte(sentinel+"-snapshot")); err != nil || a.Code != "" {
		t.Fatalf("snapshot: %+v %v", a, err)
	}
	for i := uint64(2); i < 6; i++ {
		if a := ann.send(t, i, sentinel+"-later"); a.Code != "" {
			t.Fatalf("op at %d: %+v", i, a)
		}
	}
	srv.kill9()
	ann.Close()
	if hits := grepDir(t, dir, []byte(doc)); len(hits) == 0 {
		t.Fatal("the grep finds not even the session's journal id: it proves nothing")
	}
	if hits := grepDir(t, dir, []byte(sentinel)); len(hits) > 0 {
		t.Fatalf("the sentinel is in plaintext in %v", hits)
	}

	srv = startServer(t, dir, "--snapshot-every", "2")
	bob := dialEditor(t, srv.URL, inst, "bob", "", doc)
	bob.waitVersion(t, 6)
	if snap, v := bob.doc.Snapshot(); string(snap) != sentinel+"-snapshot" || v != 2 || len(bob.doc.Ops()) != 4 || string(bob.doc.Ops()[0].Data) != sentinel+"-later" {
		t.Fatalf("read back after kill -9: snapshot %q at %d, ops %+v", snap, v, bob.doc.Ops())
	}
	bob.Close()
	srv.stop()
	if hits := grepDir(t, dir, []byte(sentinel)); len(hits) > 0 {
		t.Fatalf("after a graceful stop (compactions) the sentinel is in plaintext in %v", hits)
	}

	// The environment deleted: its keys are destroyed; at its next start
	// the node wakes the session, which purges its journal.
	srv = startServer(t, dir, "--snapshot-every", "2")
	var del map[string]any
	if st := call(t, http.MethodDelete, srv.URL+"/api/v1/instances/"+inst+"/doc", nil, &del); st != 200 {
		t.Fatalf("delete the environment: HTTP %d %v", st, del)
	}
	srv.kill9()
	srv = startServer(t, dir, "--snapshot-every", "2")
	awaitLogLine(t, srv, "journal purged", "docsession:"+inst+"/d/"+doc)
	cid := dialEditor(t, srv.URL, inst, "cid", "", doc)
	if a := cid.send(t, 0, "x"); a.Code != document.CodeForbidden {
		t.Fatalf("an op after the environment's deletion: %+v", a)
	}
	cid.Close()
	srv.stop()
	if j, ok := docJournal(t, dir, "docsession:"+inst+"/d/"+doc); ok && (j.Events != 0 || j.SnapshotSeq != 0) {
		t.Fatalf("the deleted environment's session journal: %+v", j)
	}
	if hits := grepDir(t, dir, []byte(sentinel)); len(hits) > 0 {
		t.Fatalf("the sentinel is in plaintext in %v", hits)
	}
}

// awaitLogLine waits until a line of the server's log has every one of
// parts.
func awaitLogLine(t *testing.T, s *server, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not log a line with %q within 60s", parts)
		}
		time.Sleep(50 * time.Millisecond) // polling a log: there is no event to await
	}
}
