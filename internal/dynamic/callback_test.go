package dynamic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// callback plays a card's callback owner: it checks each request's
// signature, records it, and answers as its test says.
type callback struct {
	t      *testing.T
	secret string
	srv    *httptest.Server
	reqs   chan Request
	// answer is the answer to the n-th request (from 1): its status and
	// body; hang makes the handler wait until the request is cancelled or
	// the test ends.
	mu     sync.Mutex
	n      int
	answer func(r Request, n int) (status int, body string, hang bool)
	end    chan struct{}
}

func newCallback(t *testing.T, answer func(r Request, n int) (int, string, bool)) *callback {
	cb := &callback{t: t, secret: "s3cret", reqs: make(chan Request, 256), answer: answer, end: make(chan struct{})}
	if cb.answer == nil {
		cb.answer = func(r Request, n int) (int, string, bool) { return 200, dataFor(r, n), false }
	}
	cb.srv = httptest.NewServer(http.HandlerFunc(cb.serve))
	t.Cleanup(func() { close(cb.end); cb.srv.Close() })
	return cb
}

func (cb *callback) serve(w http.ResponseWriter, r *http.Request) {
	if !Verify(cb.secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature)) {
		cb.t.Errorf("request with a bad signature (timestamp %q)", r.Header.Get(HeaderTimestamp))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	b, _ := io.ReadAll(r.Body)
	req, err := DecodeRequest(b)
	if err != nil {
		cb.t.Errorf("undecodable request %s: %v", b, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	cb.mu.Lock()
	cb.n++
	n := cb.n
	cb.mu.Unlock()
	cb.reqs <- req
	status, body, hang := cb.answer(req, n)
	if hang {
		select {
		case <-r.Context().Done():
		case <-cb.end:
		}
		return
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// dataFor answers every source of r with a STRING naming the user, the
// source and the request.
func dataFor(r Request, n int) string {
	var items []map[string]string
	for _, id := range r.SourceIDs {
		items = append(items, map[string]string{"dynamicDataSourceId": id, "dynamicDataValueType": ValueString, "data": fmt.Sprintf("%s:%s:%d", r.UserID, id, n)})
	}
	b, _ := json.Marshal(map[string]any{"dataSourceQueryResponses": items})
	return string(b)
}

func (cb *callback) plan(sources ...Source) PlanFunc {
	return staticPlan(&Plan{CorpID: "w_A", Target: Target{CallbackURL: cb.srv.URL + "/cb", APISecret: cb.secret}, Sources: sources})
}

func staticPlan(p *Plan) PlanFunc {
	return func(ctx context.Context) (*Plan, error) { return p, nil }
}

// next is the next request the callback got, within a deadline.
func (cb *callback) next() Request {
	cb.t.Helper()
	select {
	case r := <-cb.reqs:
		return r
	case <-time.After(5 * time.Second):
		cb.t.Fatal("no callback request within 5 s")
		return Request{}
	}
}

// none checks the callback got no request it has not been asked about.
func (cb *callback) none() {
	cb.t.Helper()
	select {
	case r := <-cb.reqs:
		cb.t.Fatalf("unexpected callback request %+v", r)
	default:
	}
}

// results collects a Viewer's results.
type results chan Result

func (rs results) deliver(r Result) { rs <- r }

// take is the next n results, within a deadline.
func (rs results) take(t *testing.T, n int) []Result {
	t.Helper()
	var out []Result
	for len(out) < n {
		select {
		case r := <-rs:
			out = append(out, r)
		case <-time.After(5 * time.Second):
			t.Fatalf("%d results within 5 s, want %d: %+v", len(out), n, out)
		}
	}
	return out
}

func awaitDone(t *testing.T, v *Viewer) {
	t.Helper()
	select {
	case <-v.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the viewer did not end within 5 s")
	}
}
