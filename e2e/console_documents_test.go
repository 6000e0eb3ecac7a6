package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestConsoleDocuments: the Documents view shows the environment's API
// secret by its prefix only and each webhook's delivery state: one that
// takes the events has delivered them, one that is down has them pending,
// with its attempts and last error; the page follows the state live (the
// endpoint comes back: nothing pending) and says that comments are not in
// the admin API.
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
	if note := b.text(tab, "#documents-comments"); !strings.Contains(note, "not by the admin API") {
		t.Fatalf("the comments note: %q", note)
	}
	b.shot(tab, "16-documents")

	// The endpoint comes back: the page shows it caught up, by itself.
	down.setDown(false)
	b.do(tab, "the down webhook to catch up", untilJS(fmt.Sprintf(`document.querySelector(%s).textContent === '0'`, js(row(downURL)+" td[data-col=pending]"))))
}
