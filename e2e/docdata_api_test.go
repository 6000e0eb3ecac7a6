package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// The documents REST API: permanent data of a document kept across a
// crash, soft deletion / restore / force, the comment archive, and
// isolation between documents and environments.
func TestDocDataREST(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "--webhook-private")
	a := newDocEnv(t, srv.URL, "env_DOCA")
	b := newDocEnv(t, srv.URL, "env_DOCB")

	a.must(201, "POST", "/users", map[string]any{"document_id": "doc1", "id": "alice", "name": "Alice"})
	th := a.must(201, "POST", "/threads", map[string]any{"document_id": "doc1", "id": "t1", "context": map[string]any{"type": "text"}})
	if th["id"] != "t1" || th["document_id"] != "doc1" || th["resolved_at"] != nil {
		t.Fatalf("thread: %v", th)
	}
	c1 := a.must(201, "POST", "/comments", map[string]any{"document_id": "doc1", "id": "c1", "thread_id": "t1", "user_id": "alice", "content": "<p>first</p>", "attributes": map[string]any{"k": 1}})
	if c1["content"] != "<p>first</p>" || c1["user"].(map[string]any)["id"] != "alice" || c1["created_at"] == nil {
		t.Fatalf("comment: %v", c1)
	}
	gen := a.must(201, "POST", "/comments?document_id=doc1", map[string]any{"thread_id": "t1", "user_id": "bob", "content": "second"})
	c2 := gen["id"].(string)
	if c2 == "" {
		t.Fatal("a comment created without id got none")
	}
	a.must(201, "POST", "/suggestions", map[string]any{"document_id": "doc1", "id": "s1", "user_id": "alice", "type": "insertion", "data": map[string]any{"x": true}})
	a.must(201, "POST", "/revisions", map[string]any{"document_id": "doc1", "id": "r1", "name": "v1", "from_version": 1, "to_version": 5, "authors_ids": []string{"alice"}})

	// Updates by the backend change anyone's comment.
	if c := a.must(200, "PUT", "/comments/c1?document_id=doc1", map[string]any{"content": "edited"}); c["content"] != "edited" || c["user"].(map[string]any)["id"] != "alice" {
		t.Fatalf("updated: %v", c)
	}

	// Isolation: another document, another environment: 404 like an
	// unknown id; another environment's secret: 401.
	a.must(404, "GET", "/comments/c1?document_id=doc2", nil)
	b.must(404, "GET", "/comments/c1?document_id=doc1", nil)
	if x := a.doAt("GET", "/comments/c1?document_id=doc1", nil, 0, b.secret); x.status != 401 {
		t.Fatalf("environment B's secret on A: HTTP %d", x.status)
	}
	a.must(404, "GET", "/comments/nope?document_id=doc1", nil)
	a.must(404, "PUT", "/comments/nope?document_id=doc1", map[string]any{"content": "x"})
	a.must(404, "POST", "/comments", map[string]any{"document_id": "doc1", "thread_id": "no-thread", "user_id": "u", "content": "x"})

	// Lists: a thread's comments in creation order, paged.
	if got := docIDs(t, a.must(200, "GET", "/comments?document_id=doc1&thread_id=t1", nil)); !slices.Equal(got, []string{"c1", c2}) {
		t.Fatalf("comments of t1: %v", got)
	}
	p1 := a.must(200, "GET", "/comments?document_id=doc1&limit=1", nil)
	if got := docIDs(t, p1); !slices.Equal(got, []string{"c1"}) || p1["next_cursor"] == nil {
		t.Fatalf("first page: %v", p1)
	}
	p2 := a.must(200, "GET", "/comments?document_id=doc1&limit=1&cursor="+p1["next_cursor"].(string), nil)
	if got := docIDs(t, p2); !slices.Equal(got, []string{c2}) || p2["next_cursor"] != nil {
		t.Fatalf("second page: %v", p2)
	}

	// Soft delete hides, include_deleted shows, restore brings back,
	// force removes for good.
	a.must(200, "DELETE", "/comments/c1?document_id=doc1", nil)
	a.must(404, "GET", "/comments/c1?document_id=doc1", nil)
	if got := docIDs(t, a.must(200, "GET", "/comments?document_id=doc1", nil)); !slices.Equal(got, []string{c2}) {
		t.Fatalf("after the soft delete: %v", got)
	}
	if d := a.must(200, "GET", "/comments/c1?document_id=doc1&include_deleted=true", nil); d["deleted_at"] == nil {
		t.Fatalf("deleted comment: %v", d)
	}
	a.must(200, "PUT", "/comments/c1/restore?document_id=doc1", nil)
	a.must(200, "GET", "/comments/c1?document_id=doc1", nil)
	a.must(204, "DELETE", "/comments/c1?document_id=doc1&force=true", nil)
	a.must(404, "GET", "/comments/c1?document_id=doc1&include_deleted=true", nil)
	a.must(404, "PUT", "/comments/c1/restore?document_id=doc1", nil)

	// Suggestions: accepting marks deleted; restore opens again.
	if s := a.must(200, "POST", "/suggestions/s1/accept?document_id=doc1", nil); s["state"] != "accepted" || s["deleted_at"] == nil {
		t.Fatalf("accepted: %v", s)
	}
	a.must(409, "POST", "/suggestions/s1/reject?document_id=doc1", nil)
	if s := a.must(200, "PUT", "/suggestions/s1/restore?document_id=doc1", nil); s["state"] != "open" || s["deleted_at"] != nil {
		t.Fatalf("restored: %v", s)
	}

	// The archive: resolve, reopen, resolve, remove.
	if r := a.must(200, "POST", "/threads/t1/resolve?document_id=doc1", nil); r["resolved_at"] == nil {
		t.Fatalf("resolved: %v", r)
	}
	a.must(409, "POST", "/threads/t1/resolve?document_id=doc1", nil)
	a.must(200, "POST", "/threads/t1/reopen?document_id=doc1", nil)
	a.must(200, "POST", "/threads/t1/resolve?document_id=doc1", nil)
	a.must(200, "DELETE", "/threads/t1?document_id=doc1", nil)
	a.must(404, "POST", "/threads/t1/reopen?document_id=doc1", nil)

	// Survives a crash.
	srv.kill9()
	srv = startServer(t, dir, "--webhook-private")
	a.base = srv.URL
	if s := a.must(200, "GET", "/suggestions/s1?document_id=doc1", nil); s["state"] != "open" {
		t.Fatalf("after restart: %v", s)
	}
	if u := a.must(200, "GET", "/users/alice?document_id=doc1", nil); u["name"] != "Alice" {
		t.Fatalf("user after restart: %v", u)
	}
	a.must(200, "GET", "/revisions/r1?document_id=doc1", nil)
	a.must(200, "GET", "/comments/"+c2+"?document_id=doc1", nil)
	a.must(200, "GET", "/threads/t1?document_id=doc1&include_deleted=true", nil)

	// A document removed for good takes everything along.
	a.must(400, "DELETE", "/documents/doc1", nil)
	a.must(204, "DELETE", "/documents/doc1?force=true", nil)
	a.must(404, "GET", "/suggestions/s1?document_id=doc1&include_deleted=true", nil)
	if got := docIDs(t, a.must(200, "GET", "/users?document_id=doc1", nil)); len(got) != 0 {
		t.Fatalf("users after the document's removal: %v", got)
	}
}

// Refusals: each its clear status, and nothing changed.
func TestDocDataRESTRefusals(t *testing.T) {
	srv := startServer(t, t.TempDir(), "--webhook-private")
	e := newDocEnv(t, srv.URL, "env_DOCREF")
	e.must(201, "POST", "/threads", map[string]any{"document_id": "d", "id": "t"})
	now := time.Now().UnixMilli()
	body := map[string]any{"document_id": "d", "id": "c", "thread_id": "t", "user_id": "u", "content": "x"}
	for _, c := range []struct {
		name   string
		ans    docAnswer
		status int
	}{
		{"wrong secret", e.doAt("POST", "/comments", body, now, e.secret+"x"), 401},
		{"stale timestamp", e.doAt("POST", "/comments", body, now-6*60*1000, e.secret), 401},
		{"future timestamp", e.doAt("POST", "/comments", body, now+6*60*1000, e.secret), 401},
		{"limit over 1000", e.do("GET", "/comments?document_id=d&limit=1001", nil), 400},
		{"limit 0", e.do("GET", "/comments?document_id=d&limit=0", nil), 400},
		{"oversize body", e.do("POST", "/comments", []byte(`{"document_id":"d","id":"c","thread_id":"t","user_id":"u","content":"`+strings.Repeat("x", 1<<20)+`"}`)), 413},
		{"no document_id", e.do("GET", "/comments", nil), 400},
		{"bad document_id", e.do("GET", "/comments?document_id=a/b", nil), 400},
		{"unknown field", e.do("POST", "/comments", map[string]any{"document_id": "d", "thread_id": "t", "user_id": "u", "bogus": 1}), 400},
		{"bad record id", e.do("POST", "/comments", map[string]any{"document_id": "d", "id": "a:b", "thread_id": "t", "user_id": "u"}), 400},
		{"not JSON", e.do("POST", "/comments", []byte(`{"document_id":`)), 400},
		{"bad cursor", e.do("GET", "/comments?document_id=d&cursor=zz", nil), 400},
		{"unknown environment", (&docEnv{t: t, base: srv.URL, env: "env_NONE", secret: e.secret}).do("GET", "/comments?document_id=d", nil), 401},
	} {
		if c.ans.status != c.status || c.ans.body["message"] == nil || c.ans.body["message"] == "" {
			t.Errorf("%s: HTTP %d %s, want %d with a message", c.name, c.ans.status, c.ans.raw, c.status)
		}
	}
	// Webhooks through the REST API: a bad URL refused, a good one listed
	// without its secret.
	e.must(400, "PUT", "/webhooks", map[string]any{"webhooks": []any{map[string]any{"url": "ftp://x", "secret": "s"}}})
	e.must(200, "PUT", "/webhooks", map[string]any{"webhooks": []any{map[string]any{"url": "http://127.0.0.1:9/h", "secret": "s", "events": []string{"comment.added"}}}})
	if h := e.must(200, "GET", "/webhooks", nil); len(h["webhooks"].([]any)) != 1 || strings.Contains(fmt.Sprint(h), `secret:s`) {
		t.Fatalf("webhooks: %v", h)
	}
	e.must(200, "PUT", "/webhooks", map[string]any{"webhooks": []any{}})
	if got := docIDs(t, e.must(200, "GET", "/comments?document_id=d&include_deleted=true", nil)); len(got) != 0 {
		t.Fatalf("refused requests stored comments: %v", got)
	}
	// A missing signature header, and a rotated-out secret.
	req, _ := http.NewRequest("GET", srv.URL+"/api/v5/env_DOCREF/comments?document_id=d", nil)
	req.Header.Set("X-CS-Timestamp", fmt.Sprint(now))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("no signature: HTTP %d", resp.StatusCode)
	}
	old := e.secret
	e2 := newDocEnv(t, srv.URL, "env_DOCREF")
	if x := e.doAt("GET", "/comments?document_id=d", nil, 0, old); x.status != 401 {
		t.Fatalf("the rotated-out secret: HTTP %d", x.status)
	}
	e2.must(200, "GET", "/comments?document_id=d", nil)
}
