package e2e

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// grepDir lists the files under dir that hold needle.
func grepDir(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// A sentinel written into a comment, a suggestion and a webhook event
// appears nowhere in plaintext in the data directory; key rotation keeps
// old data readable; after the environment is deleted nothing reads back.
func TestDocDataEncryptedAtRest(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "--webhook-private")
	e := newDocEnv(t, srv.URL, "env_CRYPT")
	sink := newHookSink(t, "s")
	sink.setDown(true) // the events stay in the outbox's journal
	setHooks(t, srv.URL, e.env, map[string]any{"url": sink.srv.URL + "/hook", "secret": "s"})
	const sentinel = "SENTINEL-7f3a9c-plaintext"
	e.must(201, "POST", "/threads", map[string]any{"document_id": "doccrypt", "id": "t", "attributes": map[string]any{"note": sentinel + "-thread"}})
	e.must(201, "POST", "/comments", map[string]any{"document_id": "doccrypt", "id": "c1", "thread_id": "t", "user_id": "u", "content": sentinel + "-comment"})
	e.must(201, "POST", "/suggestions", map[string]any{"document_id": "doccrypt", "id": "s1", "user_id": "u", "type": "insertion", "data": map[string]any{"text": sentinel + "-suggestion"}})
	if got := e.must(200, "GET", "/comments/c1?document_id=doccrypt", nil); got["content"] != sentinel+"-comment" {
		t.Fatalf("read back: %v", got)
	}
	// Killed: what was written is in the write-ahead log, uncompressed.
	srv.kill9()
	if hits := grepDir(t, dir, []byte("doccrypt")); len(hits) == 0 {
		t.Fatal("the grep finds not even the document's journal id: it proves nothing")
	}
	if hits := grepDir(t, dir, []byte(sentinel)); len(hits) > 0 {
		t.Fatalf("the sentinel is in plaintext in %v", hits)
	}

	srv = startServer(t, dir, "--webhook-private")
	e.base = srv.URL
	var rot map[string]any
	if st := call(t, http.MethodPost, srv.URL+"/api/v1/instances/"+e.env+"/doc/key/rotate", nil, &rot); st != 200 || rot["key_version"].(float64) != 2 {
		t.Fatalf("rotate the key: HTTP %d %v", st, rot)
	}
	e.must(201, "POST", "/threads", map[string]any{"document_id": "doccrypt2", "id": "t"})
	e.must(201, "POST", "/comments", map[string]any{"document_id": "doccrypt2", "id": "c2", "thread_id": "t", "user_id": "u", "content": sentinel + "-after-rotation"})
	srv.stop()
	srv = startServer(t, dir, "--webhook-private")
	e.base = srv.URL
	if got := e.must(200, "GET", "/comments/c1?document_id=doccrypt", nil); got["content"] != sentinel+"-comment" {
		t.Fatalf("sealed with key 1, read after rotation: %v", got)
	}
	if got := e.must(200, "GET", "/comments/c2?document_id=doccrypt2", nil); got["content"] != sentinel+"-after-rotation" {
		t.Fatalf("sealed with key 2: %v", got)
	}

	// Deleting the environment destroys its keys and secret first.
	var del map[string]any
	if st := call(t, http.MethodDelete, srv.URL+"/api/v1/instances/"+e.env+"/doc", nil, &del); st != 200 {
		t.Fatalf("delete the environment: HTTP %d %v", st, del)
	}
	if x := e.do("GET", "/comments/c1?document_id=doccrypt", nil); x.status != 401 {
		t.Fatalf("after deletion, the old secret: HTTP %d %s", x.status, x.raw)
	}
	if st := call(t, http.MethodPost, srv.URL+"/api/v1/instances/"+e.env+"/doc/secret", nil, &del); st != 404 {
		t.Fatalf("a new secret for a deleted environment: HTTP %d", st)
	}
	srv.kill9()
	srv = startServer(t, dir, "--webhook-private")
	e.base = srv.URL
	if x := e.do("GET", "/comments/c1?document_id=doccrypt", nil); x.status != 401 {
		t.Fatalf("after deletion and restart: HTTP %d %s", x.status, x.raw)
	}
	var env map[string]any
	if call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+e.env+"/doc", nil, &env); env["deleted"] != true {
		t.Fatalf("the environment after deletion: %v", env)
	}
	if hits := grepDir(t, dir, []byte(sentinel)); len(hits) > 0 {
		t.Fatalf("the sentinel is in plaintext in %v", hits)
	}
}
