package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsync/opsync/internal/docrest"
)

// hookSink is a backend's webhook endpoint: it records every event it
// accepts (answering 2xx) and refuses with 503 while down.
type hookSink struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	mu     sync.Mutex
	down   bool
	got    []hookGot
	bad    []string // requests whose signature did not verify
	tries  int
	notify chan struct{}
}

type hookGot struct {
	ID, Event, Env, SentAt string
	Payload                map[string]any
}

func newHookSink(t *testing.T, secret string) *hookSink {
	h := &hookSink{t: t, secret: secret, notify: make(chan struct{}, 1)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.tries++
		if h.down {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		msg := docrest.SignedMessage(r.Method, r.URL.RequestURI(), r.Header.Get(docrest.TimestampHeader), body)
		if !docrest.Valid([]byte(h.secret), msg, r.Header.Get(docrest.SignatureHeader)) {
			h.bad = append(h.bad, string(body))
		}
		var g struct {
			ID          string         `json:"id"`
			Event       string         `json:"event"`
			Environment string         `json:"environment_id"`
			Payload     map[string]any `json:"payload"`
			SentAt      string         `json:"sent_at"`
		}
		if err := json.Unmarshal(body, &g); err != nil {
			h.bad = append(h.bad, string(body))
		}
		h.got = append(h.got, hookGot{ID: g.ID, Event: g.Event, Env: g.Environment, SentAt: g.SentAt, Payload: g.Payload})
		w.WriteHeader(http.StatusNoContent)
		select {
		case h.notify <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookSink) setDown(down bool) {
	h.mu.Lock()
	h.down = down
	h.mu.Unlock()
}

// await waits until the sink accepted n distinct events.
func (h *hookSink) await(n int, within time.Duration) []hookGot {
	h.t.Helper()
	deadline := time.After(within)
	for {
		h.mu.Lock()
		seen := map[string]bool{}
		for _, g := range h.got {
			seen[g.ID] = true
		}
		got := slices.Clone(h.got)
		h.mu.Unlock()
		if len(seen) >= n {
			return got
		}
		select {
		case <-h.notify:
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			h.t.Fatalf("the webhook received %d distinct events, want %d: %+v", len(seen), n, got)
		}
	}
}

// firstOf is the events in the order of their first delivery (at least
// once: a repeat is no new event).
func firstOf(got []hookGot) []hookGot {
	seen := map[string]bool{}
	var out []hookGot
	for _, g := range got {
		if !seen[g.ID] {
			seen[g.ID] = true
			out = append(out, g)
		}
	}
	return out
}

func setHooks(t *testing.T, base, env string, hooks ...map[string]any) {
	t.Helper()
	var ans map[string]any
	if st := call(t, http.MethodPut, base+"/api/v1/instances/"+env+"/doc/webhooks", map[string]any{"webhooks": hooks}, &ans); st != 200 {
		t.Fatalf("set webhooks: HTTP %d %v", st, ans)
	}
}

// The archive's events: resolve → commentthread.resolved, reopen →
// reopened, remove → removed, each with its payload and a valid signature.
func TestDocDataWebhookArchive(t *testing.T) {
	srv := startServer(t, t.TempDir(), "--webhook-private")
	e := newDocEnv(t, srv.URL, "env_HOOKS")
	sink := newHookSink(t, "hook-secret")
	other := newHookSink(t, "other-secret")
	setHooks(t, srv.URL, e.env, map[string]any{"url": sink.srv.URL + "/cs?x=1", "secret": "hook-secret"},
		map[string]any{"url": other.srv.URL + "/threads-only", "secret": "other-secret", "events": []string{"commentthread.resolved"}})

	e.must(201, "POST", "/threads", map[string]any{"document_id": "doc1", "id": "t1"})
	e.must(201, "POST", "/comments", map[string]any{"document_id": "doc1", "id": "c1", "thread_id": "t1", "user_id": "alice", "content": "hello"})
	e.must(200, "POST", "/threads/t1/resolve?document_id=doc1", nil)
	e.must(200, "POST", "/threads/t1/reopen?document_id=doc1", nil)
	e.must(200, "DELETE", "/threads/t1?document_id=doc1", nil)
	e.must(201, "POST", "/users", map[string]any{"document_id": "doc1", "id": "alice"}) // users make no event

	got := firstOf(sink.await(5, 30*time.Second))
	var names []string
	for _, g := range got {
		names = append(names, g.Event)
		if g.Env != e.env || g.SentAt == "" || !strings.HasPrefix(g.ID, "evt_") || g.Payload["document"].(map[string]any)["id"] != "doc1" {
			t.Fatalf("event %+v", g)
		}
	}
	if want := []string{"commentthread.added", "comment.added", "commentthread.resolved", "commentthread.reopened", "commentthread.removed"}; !slices.Equal(names, want) {
		t.Fatalf("events %v, want %v", names, want)
	}
	if th := got[2].Payload["comment_thread"].(map[string]any); th["id"] != "t1" || th["resolved_at"] == nil {
		t.Fatalf("resolved payload %v", got[2].Payload)
	}
	if th := got[3].Payload["comment_thread"].(map[string]any); th["resolved_at"] != nil {
		t.Fatalf("reopened payload %v", got[3].Payload)
	}
	if th := got[4].Payload["comment_thread"].(map[string]any); th["deleted_at"] == nil {
		t.Fatalf("removed payload %v", got[4].Payload)
	}
	if c := got[1].Payload["comment"].(map[string]any); c["content"] != "hello" || c["thread_id"] != "t1" || c["user"].(map[string]any)["id"] != "alice" {
		t.Fatalf("comment.added payload %v", got[1].Payload)
	}
	// The second webhook wants only resolutions.
	if o := firstOf(other.await(1, 30*time.Second)); len(o) != 1 || o[0].Event != "commentthread.resolved" {
		t.Fatalf("the filtered webhook got %+v", o)
	}
	sink.mu.Lock()
	bad := slices.Clone(sink.bad)
	sink.mu.Unlock()
	other.mu.Lock()
	bad = append(bad, other.bad...)
	other.mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("requests with invalid signatures: %v", bad)
	}
}

// A webhook endpoint down for 30 s, opsync killed with -9 meanwhile, then
// up: every event arrives, in order per document, none lost.
func TestDocDataWebhookDownAndCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("30 s of a webhook down")
	}
	dir := t.TempDir()
	srv := startServer(t, dir, "--webhook-private")
	e := newDocEnv(t, srv.URL, "env_HOOKDOWN")
	sink := newHookSink(t, "s")
	setHooks(t, srv.URL, e.env, map[string]any{"url": sink.srv.URL + "/hook", "secret": "s"})
	sink.setDown(true)
	downAt := time.Now()

	want := map[string][]string{} // per document: comment ids in order
	comment := func(doc, id string) {
		e.must(201, "POST", "/comments", map[string]any{"document_id": doc, "id": id, "thread_id": "t", "user_id": "u", "content": id})
		want[doc] = append(want[doc], id)
	}
	for _, doc := range []string{"docA", "docB"} {
		e.must(201, "POST", "/threads", map[string]any{"document_id": doc, "id": "t"})
	}
	for i := range 10 {
		comment("docA", fmt.Sprint("a", i))
		comment("docB", fmt.Sprint("b", i))
	}
	// The endpoint is being tried and refuses: visible in the admin API.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st struct {
			Queued   int `json:"queued"`
			Webhooks []struct {
				Pending   int    `json:"pending"`
				LastError string `json:"last_error"`
			} `json:"webhooks"`
		}
		call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+e.env+"/doc/webhooks", nil, &st)
		if len(st.Webhooks) == 1 && st.Webhooks[0].Pending == 22 && strings.Contains(st.Webhooks[0].LastError, "503") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery state while down: %+v", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	srv.kill9()
	srv = startServer(t, dir, "--webhook-private")
	e.base = srv.URL
	for i := 10; i < 13; i++ {
		comment("docA", fmt.Sprint("a", i))
	}
	if wait := 30*time.Second - time.Since(downAt); wait > 0 {
		time.Sleep(wait) // the endpoint stays down 30 s: that is the scenario
	}
	sink.mu.Lock()
	tries := sink.tries
	sink.mu.Unlock()
	if tries < 3 {
		t.Fatalf("the endpoint was tried %d times while down", tries)
	}
	sink.setDown(false)
	checkHooks(t, sink, firstOf(sink.await(2+23, 60*time.Second)), want)
	var st struct {
		Queued int `json:"queued"`
	}
	deadline = time.Now().Add(20 * time.Second)
	for call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+e.env+"/doc/webhooks", nil, &st); st.Queued != 0; call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+e.env+"/doc/webhooks", nil, &st) {
		if time.Now().After(deadline) {
			t.Fatalf("the outbox still keeps %d events after delivering them", st.Queued)
		}
		time.Sleep(200 * time.Millisecond)
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), `opsync_doc_webhook_deliveries_total{result="ok"}`) {
		t.Fatal("no webhook delivery metric")
	}
}

// A webhook may not point the node at its own network: without
// --webhook-private a loopback or private URL is refused when it is set
// (admin API and REST alike), with the flag named, and nothing is stored.
func TestDocWebhookPrivateTargetRefused(t *testing.T) {
	srv := startServer(t, t.TempDir())
	sink := newHookSink(t, "s3cret")
	e := newDocEnv(t, srv.URL, "inst_PRIV")
	for _, u := range []string{sink.srv.URL + "/hook", "http://10.0.0.7/hook", "http://169.254.169.254/latest/meta-data"} {
		hooks := map[string]any{"webhooks": []map[string]any{{"url": u, "secret": "s3cret"}}}
		var ans map[string]any
		st := call(t, http.MethodPut, srv.URL+"/api/v1/instances/"+e.env+"/doc/webhooks", hooks, &ans)
		if st != http.StatusBadRequest || !strings.Contains(fmt.Sprint(ans), "--webhook-private") {
			t.Fatalf("admin set of webhook %s: HTTP %d %v, want 400 naming --webhook-private", u, st, ans)
		}
		e.must(http.StatusBadRequest, http.MethodPut, "/webhooks", hooks)
	}
	var got map[string]any
	if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+e.env+"/doc/webhooks", nil, &got); st != http.StatusOK {
		t.Fatalf("read webhooks: HTTP %d %v", st, got)
	}
	if hooks, _ := got["webhooks"].([]any); len(hooks) != 0 {
		t.Fatalf("a refused webhook was stored: %v", got)
	}
}
