package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// An environment's webhook outbox in a node set, its endpoint down: the
// node that hosts the outbox dies by kill -9, the endpoint comes up, and
// every event acknowledged before the kill still arrives (a survivor
// wakes the outbox from the replicated journal), at least once, in order
// per document, signed; the killed node comes back. Twice, the second
// time with the events of both rounds behind one cursor; then the events
// written through the node that came back follow, none lost or reordered.
func TestDocDataWebhookFailoverInASet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes and waits twice for an outbox to be woken elsewhere")
	}
	set := newNodeSet(t, 3, loopbackLayout(t, 3), "--webhook-private")
	e := newDocEnv(t, set.url(0), "env_HOOKSET")
	sink := newHookSink(t, "set-secret")
	setHooks(t, set.url(0), e.env, map[string]any{"url": sink.srv.URL + "/hook", "secret": "set-secret"})

	docs := []string{"docA", "docB", "docC"}
	want := map[string][]string{} // per document: comment ids in order
	events := 0
	comment := func(doc, id string) {
		t.Helper()
		e.must(201, "POST", "/comments", map[string]any{"document_id": doc, "id": id, "thread_id": "t", "user_id": "u", "content": id})
		want[doc] = append(want[doc], id)
		events++
	}
	for _, doc := range docs {
		e.must(201, "POST", "/threads", map[string]any{"document_id": doc, "id": "t"})
		events++
	}
	next := 0 // the comments' numbering goes on across rounds
	for round := range 2 {
		sink.setDown(true)
		for range 4 {
			for _, doc := range docs {
				comment(doc, fmt.Sprintf("%s-%d", doc, next))
			}
			next++
		}
		// The outbox keeps every event not yet delivered and the endpoint
		// refuses them; the node it is active on counts them in its
		// opsync_doc_webhook_queued.
		host := awaitOutboxHost(t, set, e.env, events-sink.distinct())
		survivor := (host + 1) % 3
		t.Logf("round %d: the outbox of %s is active on node %d (%s); raft leader: node %d", round, e.env, host, set.nodes[host].remote, set.leader(survivor))
		set.kill9(host)
		sink.setDown(false)
		killedAt := time.Now()
		// No write follows the kill before the events arrive: only the
		// survivors' wake of the outbox can deliver them.
		checkHooks(t, sink, firstOf(sink.await(events, 120*time.Second)), want)
		t.Logf("round %d: every event acknowledged before the kill arrived %v after it", round, time.Since(killedAt).Round(time.Millisecond))

		set.start(host)
		set.waitReady(set.all()...)
		set.waitCaughtUp(host, survivor)
		e.base = set.url(host)
	}
	// What is written through the node that came back follows what came
	// before, in order.
	for range 2 {
		for _, doc := range docs {
			comment(doc, fmt.Sprintf("%s-%d", doc, next))
		}
		next++
	}
	checkHooks(t, sink, firstOf(sink.await(events, 60*time.Second)), want)
	// Once delivered, the outbox keeps nothing (asked through each node).
	for i := range set.nodes {
		waitFor(t, fmt.Sprintf("node %d to see the outbox emptied", i), 30*time.Second, func() bool {
			var st struct {
				Queued int `json:"queued"`
			}
			return call(t, http.MethodGet, set.url(i)+"/api/v1/instances/"+e.env+"/doc/webhooks", nil, &st) == 200 && st.Queued == 0
		})
	}
}

// awaitOutboxHost waits until the environment's outbox keeps queued
// events refused by its endpoint, and answers the node it is active on.
func awaitOutboxHost(t *testing.T, set *nodeSet, env string, queued int) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st struct {
			Webhooks []struct {
				Pending   int    `json:"pending"`
				LastError string `json:"last_error"`
			} `json:"webhooks"`
		}
		call(t, http.MethodGet, set.url(0)+"/api/v1/instances/"+env+"/doc/webhooks", nil, &st)
		last := fmt.Sprintf("delivery state %+v", st)
		if len(st.Webhooks) == 1 && st.Webhooks[0].Pending == queued && strings.Contains(st.Webhooks[0].LastError, "503") {
			host := -1
			for i := range set.nodes {
				if metricValue(t, set.url(i), "opsync_doc_webhook_queued") == float64(queued) {
					if host >= 0 {
						t.Fatalf("nodes %d and %d both keep the outbox's %d events active", host, i, queued)
					}
					host = i
				}
			}
			if host >= 0 {
				return host
			}
			last = "no node counts them in opsync_doc_webhook_queued"
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox does not keep %d refused events on one node: %s", queued, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkHooks checks the events in the order of their first delivery: the
// comments of each document announced as want says, every request signed.
func checkHooks(t *testing.T, sink *hookSink, got []hookGot, want map[string][]string) {
	t.Helper()
	per := map[string][]string{}
	for _, g := range got {
		doc := g.Payload["document"].(map[string]any)["id"].(string)
		if g.Event == "comment.added" {
			per[doc] = append(per[doc], g.Payload["comment"].(map[string]any)["id"].(string))
		}
	}
	for doc, ids := range want {
		if !slices.Equal(per[doc], ids) {
			t.Fatalf("document %s: comments announced %v, want %v (in order, none lost)", doc, per[doc], ids)
		}
	}
	sink.mu.Lock()
	bad := slices.Clone(sink.bad)
	sink.mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("requests with invalid signatures: %v", bad)
	}
}

// distinct is how many distinct events the sink accepted so far.
func (h *hookSink) distinct() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(firstOf(h.got))
}
