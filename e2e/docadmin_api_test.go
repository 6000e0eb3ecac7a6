package e2e

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
)

// adminDoc is the admin API's records view of a document.
type adminDoc struct {
	EnvironmentID string            `json:"environment_id"`
	DocumentID    string            `json:"document_id"`
	Threads       []map[string]any  `json:"threads"`
	Comments      []map[string]any  `json:"comments"`
	Suggestions   []map[string]any  `json:"suggestions"`
	Revisions     []map[string]any  `json:"revisions"`
	Users         []map[string]any  `json:"users"`
	Truncated     map[string]bool   `json:"truncated"`
	Session       *adminDocSession  `json:"session"`
	Error         map[string]string `json:"error"`
}

type adminDocSession struct {
	Version        uint64           `json:"version"`
	ConnectedUsers []map[string]any `json:"connected_users"`
	Snapshot       map[string]any   `json:"snapshot"`
}

// recIDs are the ids of records, in order.
func recIDs(recs []map[string]any) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r["id"].(string))
	}
	return out
}

// byID is the record of id among recs (nil: none).
func byID(recs []map[string]any, id string) map[string]any {
	for _, r := range recs {
		if r["id"] == id {
			return r
		}
	}
	return nil
}

// TestAdminDocument: the admin API's view of a document, with the admin
// token: records created through the signed REST API (a resolved thread;
// an accepted suggestion and a deleted comment, shown only with
// include_deleted, marked), the live session's version and connected users; a
// document without records answers empty lists; another instance's
// document of the same id is not visible; no token: 401; an unknown
// instance: 404; bad parameters: 400.
func TestAdminDocument(t *testing.T) {
	srv := startServer(t, t.TempDir())
	a := newDocEnv(t, srv.URL, "env_ADMDOCA")
	b := newDocEnv(t, srv.URL, "env_ADMDOCB")
	const doc = "doc1"
	view := func(env, doc, query string, want int) adminDoc {
		t.Helper()
		var out adminDoc
		if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+env+"/documents/"+doc+query, nil, &out); st != want {
			t.Fatalf("GET the admin view of %s/%s%s: HTTP %d %+v, want %d", env, doc, query, st, out, want)
		}
		return out
	}

	a.must(201, "POST", "/users", map[string]any{"document_id": doc, "id": "alice", "name": "Alice"})
	a.must(201, "POST", "/threads", map[string]any{"document_id": doc, "id": "t1"})
	a.must(201, "POST", "/threads", map[string]any{"document_id": doc, "id": "t2"})
	a.must(201, "POST", "/comments", map[string]any{"document_id": doc, "id": "c1", "thread_id": "t1", "user_id": "alice", "content": "first"})
	a.must(201, "POST", "/comments", map[string]any{"document_id": doc, "id": "c2", "thread_id": "t2", "user_id": "bob", "content": "gone"})
	a.must(201, "POST", "/suggestions", map[string]any{"document_id": doc, "id": "s1", "user_id": "alice", "type": "insertion"})
	a.must(201, "POST", "/suggestions", map[string]any{"document_id": doc, "id": "s2", "user_id": "bob", "type": "deletion"})
	a.must(201, "POST", "/revisions", map[string]any{"document_id": doc, "id": "r1", "name": "v1", "from_version": 0, "to_version": 2})
	a.must(200, "POST", "/threads/t2/resolve?document_id="+doc, nil)
	a.must(200, "POST", "/suggestions/s1/accept?document_id="+doc, nil)
	a.must(200, "DELETE", "/comments/c2?document_id="+doc, nil)
	b.must(201, "POST", "/threads", map[string]any{"document_id": doc, "id": "tb"})

	d := view(a.env, doc, "", 200)
	if d.EnvironmentID != a.env || d.DocumentID != doc {
		t.Fatalf("the view names %q/%q", d.EnvironmentID, d.DocumentID)
	}
	if got := recIDs(d.Threads); !slices.Equal(got, []string{"t1", "t2"}) {
		t.Fatalf("threads: %v", got)
	}
	if byID(d.Threads, "t1")["resolved"] != false || byID(d.Threads, "t2")["resolved"] != true || byID(d.Threads, "t2")["resolved_at"] == nil {
		t.Fatalf("threads' resolved state: %v", d.Threads)
	}
	if got := recIDs(d.Comments); !slices.Equal(got, []string{"c1"}) {
		t.Fatalf("comments without the deleted ones: %v", got)
	}
	if c := d.Comments[0]; c["content"] != "first" || c["thread_id"] != "t1" || c["user"].(map[string]any)["id"] != "alice" {
		t.Fatalf("comment: %v", c)
	}
	// An accepted suggestion is marked deleted (a restore opens it again).
	if got := recIDs(d.Suggestions); !slices.Equal(got, []string{"s2"}) || d.Suggestions[0]["state"] != "open" {
		t.Fatalf("suggestions: %v", d.Suggestions)
	}
	if got := recIDs(d.Revisions); !slices.Equal(got, []string{"r1"}) {
		t.Fatalf("revisions: %v", got)
	}
	if got := recIDs(d.Users); !slices.Equal(got, []string{"alice"}) || d.Users[0]["name"] != "Alice" {
		t.Fatalf("users: %v", d.Users)
	}
	for _, k := range []string{"threads", "comments", "suggestions", "revisions", "users"} {
		if v, ok := d.Truncated[k]; !ok || v {
			t.Fatalf("truncated %s: %v (in %v)", k, v, d.Truncated)
		}
	}
	if d.Session != nil {
		t.Fatalf("a session before any editor: %+v", d.Session)
	}

	// include_deleted: the deleted comment too, marked.
	d = view(a.env, doc, "?include_deleted=true", 200)
	if got := recIDs(d.Comments); !slices.Equal(got, []string{"c1", "c2"}) {
		t.Fatalf("comments with the deleted ones: %v", got)
	}
	if c2 := byID(d.Comments, "c2"); c2["deleted"] != true || c2["deleted_at"] == nil || byID(d.Comments, "c1")["deleted"] != nil {
		t.Fatalf("the deleted comment is not marked (or the other is): %v", d.Comments)
	}
	if got := recIDs(d.Suggestions); !slices.Equal(got, []string{"s1", "s2"}) || byID(d.Suggestions, "s1")["state"] != "accepted" || byID(d.Suggestions, "s1")["deleted"] != true {
		t.Fatalf("suggestions with the deleted ones: %v", d.Suggestions)
	}

	// A live session: its version and connected users.
	ann := dialEditor(t, srv.URL, a.env, "ann", "", doc)
	defer ann.Close()
	if ans := ann.send(t, 0, "o1", "o2"); ans.Code != "" || ans.Version != 2 {
		t.Fatalf("ops: %+v", ans)
	}
	d = view(a.env, doc, "", 200)
	if s := d.Session; s == nil || s.Version != 2 || len(s.ConnectedUsers) != 1 || s.ConnectedUsers[0]["id"] != "ann" {
		t.Fatalf("the session: %+v", s)
	}

	// Another instance's document of the same id: only its own records.
	d = view(b.env, doc, "", 200)
	if got := recIDs(d.Threads); !slices.Equal(got, []string{"tb"}) || len(d.Comments) != 0 || len(d.Suggestions) != 0 || len(d.Users) != 0 || d.Session != nil {
		t.Fatalf("instance B's %s: %+v", doc, d)
	}
	// A document without records: empty lists (not null).
	d = view(a.env, "nothing-here", "", 200)
	if d.Threads == nil || len(d.Threads) != 0 || d.Comments == nil || len(d.Comments) != 0 || d.Users == nil || d.Session != nil {
		t.Fatalf("an empty document: %+v", d)
	}

	// Refusals.
	if st := callWith(t, http.MethodGet, srv.URL+"/api/v1/instances/"+a.env+"/documents/"+doc, nil, nil, http.Header{}); st != 401 {
		t.Fatalf("without the admin token: HTTP %d", st)
	}
	if st := callWith(t, http.MethodGet, srv.URL+"/api/v1/instances/"+a.env+"/documents/"+doc, nil, nil, http.Header{"Authorization": {"Bearer " + a.secret}}); st != 401 {
		t.Fatalf("with the environment's API secret as token: HTTP %d", st)
	}
	if e := view("env_NOSUCH", doc, "", 404).Error; e["code"] != "NOT_FOUND" {
		t.Fatalf("an unknown instance: %v", e)
	}
	if e := view(a.env, doc, "?include_deleted=maybe", 400).Error; e["code"] != "INVALID" {
		t.Fatalf("a bad include_deleted: %v", e)
	}
	if e := view(a.env, "bad%20id", "", 400).Error; e["code"] != "INVALID" {
		t.Fatalf("a bad document id: %v", e)
	}
}

// TestAdminDocumentTruncated: a list of the admin view holds at most 1000
// records and says when the document has more; the other lists are whole.
func TestAdminDocumentTruncated(t *testing.T) {
	srv := startServer(t, t.TempDir())
	e := newDocEnv(t, srv.URL, "env_ADMDOCMANY")
	const doc = "many"
	const n = 1001
	for i := range n {
		e.must(201, "POST", "/users", map[string]any{"document_id": doc, "id": "u" + strconv.Itoa(i)})
	}
	e.must(201, "POST", "/threads", map[string]any{"document_id": doc, "id": "t1"})
	var d adminDoc
	if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+e.env+"/documents/"+doc, nil, &d); st != 200 {
		t.Fatalf("the admin view: HTTP %d %v", st, d.Error)
	}
	if len(d.Users) != 1000 || !d.Truncated["users"] {
		t.Fatalf("%d users shown, truncated %v; want 1000, true", len(d.Users), d.Truncated["users"])
	}
	if len(d.Threads) != 1 || d.Truncated["threads"] {
		t.Fatalf("%d threads shown, truncated %v; want 1, false", len(d.Threads), d.Truncated["threads"])
	}
}
