package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleDocuments: the Documents view shows the environment's API
// secret by its prefix only and each webhook's delivery state: one that
// takes the events has delivered them, one that is down has them pending,
// with its attempts and last error; the page follows the state live (the
// endpoint comes back: nothing pending).
func TestConsoleDocuments(t *testing.T) {
	b := newBrowser(t)
	s := startServer(t, t.TempDir(), "--webhook-private")
	e := newDocEnv(t, s.URL, "env_console")
	up := newHookSink(t, "up-secret")
	down := newHookSink(t, "down-secret")
	down.setDown(true)
	setHooks(t, s.URL, e.env, map[string]any{"url": up.srv.URL + "/up", "secret": "up-secret"},
		map[string]any{"url": down.srv.URL + "/down", "secret": "down-secret", "events": []string{"comment.added"}})
	e.must(201, "POST", "/threads", map[string]any{"document_id": "doc1", "id": "t1"})
	e.must(201, "POST", "/comments", map[string]any{"document_id": "doc1", "id": "c1", "thread_id": "t1", "user_id": "alice", "content": "hello"})
	up.await(2, 30*time.Second)
	waitFor(t, "the down webhook to be tried", 30*time.Second, func() bool {
		down.mu.Lock()
		defer down.mu.Unlock()
		return down.tries > 0
	})

	tab := b.tab
	b.signIn(tab, s.URL, adminToken, "ops")
	b.pickInstance(tab, e.env)
	b.goTo(tab, "documents")
	row := func(url string) string { return fmt.Sprintf(`#webhooks-table tr[data-hook="%s"]`, url) }
	cell := func(url, col string) string {
		t.Helper()
		return b.text(tab, row(url)+fmt.Sprintf(` td[data-col=%s]`, col))
	}
	upURL, downURL := up.srv.URL+"/up", down.srv.URL+"/down"
	b.do(tab, "the webhooks", untilJS(present(row(upURL))+" && "+present(row(downURL))),
		// The up one's success is recorded once the outbox saw its answer.
		untilJS(fmt.Sprintf(`document.querySelector(%s).textContent !== ''`, js(row(upURL)+" td[data-col=success]"))))
	if p := cell(upURL, "pending"); p != "0" {
		t.Fatalf("the up webhook's pending events shown: %q, want 0", p)
	}
	if p := cell(downURL, "pending"); p != "1" {
		t.Fatalf("the down webhook's pending events shown: %q, want 1 (it wants comment.added only)", p)
	}
	if msg := cell(downURL, "error"); !strings.Contains(msg, "503") {
		t.Fatalf("the down webhook's last error shown: %q", msg)
	}
	if a := cell(downURL, "attempts"); a == "0" || a == "" {
		t.Fatalf("the down webhook's attempts shown: %q", a)
	}
	if got := b.text(tab, `#documents-table tr[data-field="API secret"] td`); strings.Contains(got, e.secret) || !strings.Contains(got, "…") {
		t.Fatalf("the API secret shown: %q (the prefix only, never the secret)", got)
	}
	b.shot(tab, "16-documents")

	// The endpoint comes back: the page shows it caught up, by itself.
	down.setDown(false)
	b.do(tab, "the down webhook to catch up", untilJS(fmt.Sprintf(`document.querySelector(%s).textContent === '0'`, js(row(downURL)+" td[data-col=pending]"))))
}

// TestConsoleDocumentView: the Documents page shows a document by its id,
// through the admin API's view of it: its threads (open, resolved) with
// their comments (as text, never as markup), its open suggestions with
// their state and its live session's version and connected users; "Show
// deleted" adds the deleted comment and the rejected suggestion, marked;
// a bad document id shows the API's error by the form.
func TestConsoleDocumentView(t *testing.T) {
	b := newBrowser(t)
	s := startServer(t, t.TempDir())
	e := newDocEnv(t, s.URL, "env_consoledoc")
	const doc = "doc-view"
	e.must(201, "POST", "/users", map[string]any{"document_id": doc, "id": "alice", "name": "Alice"})
	e.must(201, "POST", "/threads", map[string]any{"document_id": doc, "id": "t1", "author_id": "alice"})
	e.must(201, "POST", "/threads", map[string]any{"document_id": doc, "id": "t2"})
	e.must(201, "POST", "/comments", map[string]any{"document_id": doc, "id": "c1", "thread_id": "t1", "user_id": "alice", "content": "hello <b>there</b>"})
	e.must(201, "POST", "/comments", map[string]any{"document_id": doc, "id": "c2", "thread_id": "t2", "user_id": "bob", "content": "done"})
	e.must(201, "POST", "/comments", map[string]any{"document_id": doc, "id": "c3", "thread_id": "t1", "user_id": "bob", "content": "withdrawn"})
	e.must(201, "POST", "/suggestions", map[string]any{"document_id": doc, "id": "s1", "user_id": "alice", "type": "insertion"})
	e.must(201, "POST", "/suggestions", map[string]any{"document_id": doc, "id": "s2", "user_id": "bob", "type": "deletion"})
	e.must(200, "POST", "/threads/t2/resolve?document_id="+doc, nil)
	e.must(200, "DELETE", "/comments/c3?document_id="+doc, nil)
	e.must(200, "POST", "/suggestions/s2/reject?document_id="+doc, nil)
	ann := dialEditor(t, s.URL, e.env, "ann", "", doc)
	defer ann.Close()
	if a := ann.send(t, 0, "o1"); a.Code != "" || a.Version != 1 {
		t.Fatalf("ops: %+v", a)
	}

	tab := b.tab
	b.signIn(tab, s.URL, adminToken, "ops")
	b.pickInstance(tab, e.env)
	b.goTo(tab, "documents")
	show := func(what, id string, until string) {
		t.Helper()
		b.do(tab, what,
			chromedp.SetValue(chromedp.CSS("#doc-form input[name=document]"), id),
			chromedp.Click(chromedp.CSS("#doc-form button[type=submit]")),
			untilJS(until))
	}
	show("a bad document id", "bad id", `document.getElementById('doc-error').textContent.includes('INVALID')`)

	thread := func(id string) string { return fmt.Sprintf(`#doc-threads section[data-thread="%s"]`, id) }
	comment := func(th, id string) string { return thread(th) + fmt.Sprintf(` tr[data-comment="%s"]`, id) }
	show("the document", doc, present(comment("t1", "c1"))+" && "+present("#doc-session"))
	if msg := b.text(tab, "#doc-error"); msg != "" {
		t.Fatalf("an error is still shown: %q", msg)
	}
	if got := b.text(tab, thread("t1")+" [data-col=state]"); got != "open" {
		t.Fatalf("t1's state shown: %q", got)
	}
	if got := b.text(tab, thread("t2")+" [data-col=state]"); !strings.HasPrefix(got, "resolved") {
		t.Fatalf("t2's state shown: %q", got)
	}
	if got := b.text(tab, comment("t1", "c1")+" td[data-col=content]"); got != "hello <b>there</b>" {
		t.Fatalf("c1's content shown: %q", got)
	}
	if eval[bool](b, tab, present(comment("t1", "c1")+" b")) {
		t.Fatal("a comment's content was rendered as markup")
	}
	if !eval[bool](b, tab, present(comment("t2", "c2"))) || eval[bool](b, tab, present(`[data-comment="c3"]`)) {
		t.Fatal("c2 is not under t2, or the deleted c3 is shown without Show deleted")
	}
	if got := b.text(tab, `#doc-suggestions tr[data-suggestion="s1"] td[data-col=state]`); got != "open" {
		t.Fatalf("s1's state shown: %q", got)
	}
	if eval[bool](b, tab, present(`[data-suggestion="s2"]`)) {
		t.Fatal("the rejected suggestion is shown without Show deleted")
	}
	field := func(name string) string {
		return strings.TrimSpace(strings.TrimPrefix(b.text(tab, fmt.Sprintf(`#doc-session tr[data-field="%s"] td`, name)), name))
	}
	if v, u := field("Version"), field("Connected users"); v != "1" || u != "ann" {
		t.Fatalf("the session shown: version %q, users %q", v, u)
	}
	b.shot(tab, "17-document")

	b.do(tab, "show deleted",
		chromedp.Click(chromedp.CSS("#doc-form input[name=deleted]")),
		untilJS(present(comment("t1", "c3")+" [data-deleted]")+" && "+present(`#doc-suggestions tr[data-suggestion="s2"] [data-deleted]`)))
	if got := b.text(tab, `#doc-suggestions tr[data-suggestion="s2"] td[data-col=state]`); got != "rejected" {
		t.Fatalf("s2's state shown: %q", got)
	}
	if eval[bool](b, tab, present(comment("t1", "c1")+" [data-deleted]")) {
		t.Fatal("c1 is marked deleted")
	}
}
