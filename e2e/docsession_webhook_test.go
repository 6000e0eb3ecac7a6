package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A session's collaboration webhooks, signed, in order: users connected
// and disconnected (with who is still there), the document updated
// (coalesced: at most one per actors.DocUpdatedEvery), the document
// removed through DELETE collaborations/{id} and with the document; the
// REST view of the session before and after.
func TestDocSessionWebhooks(t *testing.T) {
	srv := startServer(t, t.TempDir(), "--webhook-private")
	e := newDocEnv(t, srv.URL, "ws_DOCHOOKS")
	sink := newHookSink(t, "collab-secret")
	setHooks(t, srv.URL, e.env, map[string]any{"url": sink.srv.URL + "/collab?x=1", "secret": "collab-secret"})
	const doc = "doc-hooks"
	if x := e.do("GET", "/collaborations/"+doc, nil); x.status != 404 {
		t.Fatalf("a session before any editor: HTTP %d %s", x.status, x.raw)
	}

	ann := dialEditor(t, srv.URL, e.env, "ann", "", doc)
	sink.await(1, 30*time.Second)
	bob := dialEditor(t, srv.URL, e.env, "bob", "", doc)
	sink.await(2, 30*time.Second)
	if a := ann.send(t, 0, "a1", "a2"); a.Code != "" || a.Version != 2 {
		t.Fatalf("ops: %+v", a)
	}
	sink.await(3, 30*time.Second) // the first update goes at once
	for v := uint64(2); v < 5; v++ {
		if a := bob.send(t, v, "b"); a.Code != "" {
			t.Fatalf("op at %d: %+v", v, a)
		}
	}
	sink.await(4, 30*time.Second) // the three next ones in one event
	bob.waitVersion(t, 5)
	if a, err := bob.doc.SendSnapshot(t.Context(), 5, []byte("<p>five</p>")); err != nil || a.Code != "" {
		t.Fatalf("snapshot: %+v %v", a, err)
	}
	c := e.must(200, "GET", "/collaborations/"+doc, nil)
	if c["document_id"] != doc || c["version"] != float64(5) || len(c["connected_users"].([]any)) != 2 || c["operations"] != float64(0) {
		t.Fatalf("the session through REST: %v", c)
	}
	if s := c["snapshot"].(map[string]any); s["version"] != float64(5) || s["data"] != "<p>five</p>" || s["encoding"] != "utf-8" {
		t.Fatalf("the session's snapshot through REST: %v", s)
	}
	bob.Close()
	sink.await(5, 30*time.Second)
	// Ended through the REST API: ann is told, her document closed.
	e.must(204, "DELETE", "/collaborations/"+doc, nil)
	sink.await(6, 30*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for !ann.doc.Closed() {
		select {
		case <-ann.doc.Changed():
		case <-time.After(time.Until(deadline)):
			t.Fatal("the editor was not told that the session ended")
		}
	}
	if x := e.do("GET", "/collaborations/"+doc, nil); x.status != 404 {
		t.Fatalf("the session after DELETE: HTTP %d %s", x.status, x.raw)
	}
	if x := e.do("DELETE", "/collaborations/"+doc, nil); x.status != 404 {
		t.Fatalf("DELETE again: HTTP %d %s", x.status, x.raw)
	}
	// Opened again: a new session at version 1; removed with the document.
	d2, err := ann.OpenDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	ann.doc = d2
	sink.await(7, 30*time.Second) // ann connected again
	if a := ann.send(t, 0, "new"); a.Code != "" || a.Version != 1 {
		t.Fatalf("the new session: %+v", a)
	}
	sink.await(8, 30*time.Second)
	e.must(204, "DELETE", "/documents/"+doc+"?force=true", nil)
	got := firstOf(sink.await(9, 30*time.Second))

	type want struct {
		event, user string
		users       []string
		version     float64
		reason      string
	}
	wants := []want{
		{event: "collaboration.user.connected", user: "ann", users: []string{"ann"}},
		{event: "collaboration.user.connected", user: "bob", users: []string{"ann", "bob"}},
		{event: "collaboration.document.updated", version: 2},
		{event: "collaboration.document.updated", version: 5},
		{event: "collaboration.user.disconnected", user: "bob", users: []string{"ann"}},
		{event: "collaboration.document.removed", version: 5, reason: "deleted"},
		{event: "collaboration.user.connected", user: "ann", users: []string{"ann"}},
		{event: "collaboration.document.updated", version: 1},
		{event: "collaboration.document.removed", version: 1, reason: "document_removed"},
	}
	for i, w := range wants {
		g := got[i]
		if g.Event != w.event || g.Env != e.env || g.SentAt == "" || !strings.HasPrefix(g.ID, "evt_") {
			t.Fatalf("event %d: %+v, want %s", i, g, w.event)
		}
		d, _ := g.Payload["document"].(map[string]any)
		if d["id"] != doc {
			t.Fatalf("event %d's document: %v", i, g.Payload)
		}
		if w.user != "" {
			var users []string
			for _, u := range g.Payload["connected_users"].([]any) {
				users = append(users, u.(map[string]any)["id"].(string))
			}
			if g.Payload["user"].(map[string]any)["id"] != w.user || !slices.Equal(users, w.users) {
				t.Fatalf("event %d: %v, want user %s and %v connected", i, g.Payload, w.user, w.users)
			}
		}
		if w.version != 0 && d["version"] != w.version {
			t.Fatalf("event %d: %v, want version %v", i, g.Payload, w.version)
		}
		if w.reason != "" && g.Payload["reason"] != w.reason {
			t.Fatalf("event %d: %v, want reason %s", i, g.Payload, w.reason)
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.bad) > 0 {
		t.Fatalf("requests with invalid signatures: %v", sink.bad)
	}
}

// A session's webhook events journaled while the endpoint is down survive
// kill -9: after the restart, with the endpoint up, each arrives, in
// order; the user the crash left connected is announced disconnected when
// the session starts again.
func TestDocSessionWebhooksAfterCrash(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "--webhook-private")
	e := newDocEnv(t, srv.URL, "ws_DOCHOOKCRASH")
	sink := newHookSink(t, "s")
	setHooks(t, srv.URL, e.env, map[string]any{"url": sink.srv.URL + "/hook", "secret": "s"})
	sink.setDown(true)
	const doc = "doc-crash-hooks"
	ann := dialEditor(t, srv.URL, e.env, "ann", "", doc)
	if a := ann.send(t, 0, "o1"); a.Code != "" {
		t.Fatalf("op: %+v", a)
	}
	// Both events are in the outbox once its status counts them.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st map[string]any
		call(t, "GET", srv.URL+"/api/v1/instances/"+e.env+"/doc/webhooks", nil, &st)
		if hooks, _ := st["webhooks"].([]any); len(hooks) == 1 && hooks[0].(map[string]any)["pending"] == float64(2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox does not hold the session's two events: %v", st)
		}
		time.Sleep(100 * time.Millisecond) // polling the admin API: no event to await
	}
	srv.kill9()
	ann.Close()
	sink.setDown(false)
	srv = startServer(t, dir, "--webhook-private")
	got := firstOf(sink.await(2, 60*time.Second))
	if got[0].Event != "collaboration.user.connected" || got[1].Event != "collaboration.document.updated" || got[1].Payload["document"].(map[string]any)["version"] != float64(1) {
		t.Fatalf("after kill -9: %+v", got)
	}
	// The session, activated again by a new editor, announces gone the
	// user the crash left connected, then the new one.
	bob := dialEditor(t, srv.URL, e.env, "bob", "", doc)
	bob.waitVersion(t, 1)
	got = firstOf(sink.await(4, 60*time.Second))
	users := func(g hookGot) []any { return g.Payload["connected_users"].([]any) }
	if got[2].Event != "collaboration.user.disconnected" || got[2].Payload["user"].(map[string]any)["id"] != "ann" || len(users(got[2])) != 0 ||
		got[3].Event != "collaboration.user.connected" || got[3].Payload["user"].(map[string]any)["id"] != "bob" || len(users(got[3])) != 1 {
		t.Fatalf("after the restart: %+v", got[2:])
	}
}
