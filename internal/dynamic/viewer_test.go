package dynamic

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func testPuller(clock Clock, mod func(*Config)) *Puller {
	cfg := Config{Client: NewHTTPClient(true), Clock: clock, Jitter: func(time.Duration) time.Duration { return 0 }}
	if mod != nil {
		mod(&cfg)
	}
	return NewPuller(cfg)
}

func ids(rs []Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.SourceID)
	}
	return out
}

// All sources are pulled at open in one request; then each INTERVAL
// source every interval, those due together in one request; ONCE never
// again; nothing after Stop.
func TestViewerSchedule(t *testing.T) {
	clock := newFakeClock()
	cb := newCallback(t, nil)
	rs := make(results, 64)
	p := testPuller(clock, nil)
	v := p.View("userA", "card-1", cb.plan(Source{ID: "once"}, Source{ID: "a", Interval: 6 * time.Second}, Source{ID: "b", Interval: 6 * time.Second}, Source{ID: "c", Interval: 12 * time.Second}), rs.deliver)

	steps := []struct {
		advance time.Duration
		want    []string
	}{
		{0, []string{"once", "a", "b", "c"}},
		{6 * time.Second, []string{"a", "b"}},
		{6 * time.Second, []string{"a", "b", "c"}},
		{6 * time.Second, []string{"a", "b"}},
	}
	for i, s := range steps {
		if s.advance > 0 {
			clock.waitTimers(t, 1)
			clock.Advance(s.advance - time.Millisecond)
			cb.none() // not due a moment before
			clock.Advance(time.Millisecond)
		}
		req := cb.next()
		if !reflect.DeepEqual(req.SourceIDs, s.want) || req.UserID != "userA" || req.OutTrackID != "card-1" || req.CorpID != "w_A" {
			t.Fatalf("step %d: request %+v, want sources %v of userA's card-1 of w_A", i, req, s.want)
		}
		got := rs.take(t, len(s.want))
		if !reflect.DeepEqual(ids(got), s.want) {
			t.Fatalf("step %d: results for %v, want %v", i, ids(got), s.want)
		}
		for _, r := range got {
			if want := fmt.Sprintf("userA:%s:%d", r.SourceID, i+1); r.Err != nil || r.Data != want || r.ValueType != ValueString || !r.PulledAt.Equal(clock.Now()) {
				t.Fatalf("step %d: result %+v, want data %q", i, r, want)
			}
		}
	}
	clock.waitTimers(t, 1)
	v.Stop()
	awaitDone(t, v)
	clock.Advance(time.Minute)
	cb.none()
	if n := clock.pending(); n != 0 {
		t.Errorf("%d timers pending after Stop", n)
	}
	if len(rs) != 0 {
		t.Errorf("%d results after Stop", len(rs))
	}
}

// A view of ONCE sources only ends after its pull.
func TestViewerOnceOnly(t *testing.T) {
	clock := newFakeClock()
	cb := newCallback(t, nil)
	rs := make(results, 8)
	v := testPuller(clock, nil).View("u", "card-1", cb.plan(Source{ID: "x"}, Source{ID: "y"}), rs.deliver)
	if req := cb.next(); !reflect.DeepEqual(req.SourceIDs, []string{"x", "y"}) {
		t.Fatalf("request for %v", req.SourceIDs)
	}
	rs.take(t, 2)
	awaitDone(t, v)
	clock.Advance(time.Hour)
	cb.none()
}

// Stop drops the answer of a pull in flight, and returns at once.
func TestViewerStopDropsInFlight(t *testing.T) {
	release := make(chan struct{})
	cb := newCallback(t, func(r Request, n int) (int, string, bool) {
		<-release
		return 200, dataFor(r, n), false
	})
	rs := make(results, 8)
	v := testPuller(newFakeClock(), nil).View("u", "card-1", cb.plan(Source{ID: "x", Interval: 6 * time.Second}), rs.deliver)
	cb.next() // in flight
	start := time.Now()
	v.Stop()
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Stop took %v", d)
	}
	close(release)
	awaitDone(t, v)
	if len(rs) != 0 {
		t.Errorf("a result delivered after Stop: %+v", <-rs)
	}
}

func TestViewerRetries(t *testing.T) {
	big := `{"dataSourceQueryResponses":[{"data":"` + strings.Repeat("x", MaxAnswerBytes) + `","dynamicDataSourceId":"x","dynamicDataValueType":"STRING"}]}`
	for _, c := range []struct {
		name     string
		statuses []int  // of each request; 200 answers the data
		body     string // instead of the data, for 200
		backoffs []time.Duration
		kind     string // "" ok
		attempts int
	}{
		{name: "500 then ok", statuses: []int{500, 200}, backoffs: []time.Duration{200 * time.Millisecond}},
		{name: "429 503 then ok", statuses: []int{429, 503, 200}, backoffs: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}},
		{name: "500 thrice", statuses: []int{500, 500, 500}, backoffs: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}, kind: KindStatus, attempts: 3},
		{name: "400 is not retried", statuses: []int{400}, kind: KindStatus, attempts: 1},
		{name: "redirect is not followed", statuses: []int{307}, kind: KindStatus, attempts: 1},
		{name: "bad answer is not retried", statuses: []int{200}, body: "<html>", kind: KindBadAnswer, attempts: 1},
		{name: "answer too large", statuses: []int{200}, body: big, kind: KindBadAnswer, attempts: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := newFakeClock()
			cb := newCallback(t, func(r Request, n int) (int, string, bool) {
				if s := c.statuses[n-1]; s != 200 {
					return s, `{"dataSourceQueryResponses":[]}`, false
				}
				if c.body != "" {
					return 200, c.body, false
				}
				return 200, dataFor(r, n), false
			})
			rs := make(results, 8)
			v := testPuller(clock, nil).View("u", "card-1", cb.plan(Source{ID: "x"}), rs.deliver)
			cb.next()
			for _, b := range c.backoffs {
				clock.waitTimers(t, 1)
				clock.Advance(b - time.Millisecond)
				cb.none() // no retry before its backoff
				clock.Advance(time.Millisecond)
				cb.next()
			}
			r := rs.take(t, 1)[0]
			awaitDone(t, v)
			cb.none()
			if c.kind == "" {
				if r.Err != nil || r.Data != fmt.Sprintf("u:x:%d", len(c.statuses)) {
					t.Fatalf("result %+v, want the last request's data", r)
				}
				return
			}
			var pe *PullError
			if !errors.As(r.Err, &pe) || pe.Kind != c.kind || pe.Attempts != c.attempts || r.SourceID != "x" || r.Data != "" {
				t.Fatalf("result %+v, want a %s error after %d attempts", r, c.kind, c.attempts)
			}
			if strings.Contains(r.Err.Error(), "xxxx") {
				t.Errorf("the error quotes the answer")
			}
		})
	}
}

// A callback that never answers: each attempt ends at the timeout, and
// after the retries the viewer is told for each source.
func TestViewerTimeout(t *testing.T) {
	clock := newFakeClock()
	cb := newCallback(t, func(Request, int) (int, string, bool) { return 0, "", true })
	rs := make(results, 8)
	v := testPuller(clock, func(c *Config) { c.Timeout = 50 * time.Millisecond }).View("u", "card-1", cb.plan(Source{ID: "x"}, Source{ID: "y", Interval: 6 * time.Second}), rs.deliver)
	for i := 0; i < 3; i++ {
		cb.next()
		if i < 2 {
			clock.waitTimers(t, 1)
			clock.Advance(200 * time.Millisecond << i)
		}
	}
	got := rs.take(t, 2)
	for _, r := range got {
		var pe *PullError
		if !errors.As(r.Err, &pe) || pe.Kind != KindTimeout || pe.Attempts != 3 {
			t.Fatalf("result %+v, want a timeout after 3 attempts", r)
		}
	}
	if !reflect.DeepEqual(ids(got), []string{"x", "y"}) {
		t.Fatalf("errors for %v", ids(got))
	}
	// The interval source is tried again at its time.
	clock.waitTimers(t, 1)
	clock.Advance(6 * time.Second)
	if req := cb.next(); !reflect.DeepEqual(req.SourceIDs, []string{"y"}) {
		t.Fatalf("request for %v, want [y]", req.SourceIDs)
	}
	v.Stop()
	awaitDone(t, v)
}

// One source missing or malformed in an answer fails that source only.
func TestViewerPartialAnswer(t *testing.T) {
	cb := newCallback(t, func(Request, int) (int, string, bool) {
		return 200, `{"dataSourceQueryResponses":[{"data":"[1]","dynamicDataSourceId":"ok","dynamicDataValueType":"ARRAY"},{"data":"x","dynamicDataSourceId":"badtype","dynamicDataValueType":"NUMBER"},{"data":"x","dynamicDataSourceId":"unasked","dynamicDataValueType":"STRING"}]}`, false
	})
	rs := make(results, 8)
	v := testPuller(newFakeClock(), nil).View("u", "card-1", cb.plan(Source{ID: "ok"}, Source{ID: "badtype"}, Source{ID: "missing"}), rs.deliver)
	got := rs.take(t, 3)
	awaitDone(t, v)
	if r := got[0]; r.SourceID != "ok" || r.Err != nil || r.Data != "[1]" || r.ValueType != ValueArray {
		t.Errorf("ok: %+v", r)
	}
	if r := got[1]; r.SourceID != "badtype" || !errors.Is(r.Err, ErrBadValueType) || r.Data != "" {
		t.Errorf("badtype: %+v", r)
	}
	if r := got[2]; r.SourceID != "missing" || !errors.Is(r.Err, ErrMissingSource) {
		t.Errorf("missing: %+v", r)
	}
	if len(rs) != 0 {
		t.Errorf("a result for a source not asked for: %+v", <-rs)
	}
}

// The per-URL limit holds across viewers: a callback that hangs holds its
// own slots only, and a pull to another URL goes at once.
func TestPerURLLimit(t *testing.T) {
	cb := newCallback(t, func(r Request, n int) (int, string, bool) {
		return 200, dataFor(r, n), r.OutTrackID != "fast"
	})
	p := testPuller(newFakeClock(), func(c *Config) { c.PerURL = 2; c.Timeout = 500 * time.Millisecond; c.Retries = -1 })
	slow := make(results, 8)
	var views []*Viewer
	for i := 0; i < 3; i++ {
		views = append(views, p.View("u", fmt.Sprintf("slow-%d", i), cb.plan(Source{ID: "x"}), slow.deliver))
	}
	cb.next()
	cb.next() // two in flight, the third waits for a slot
	fast := make(results, 8)
	fastPlan := &Plan{CorpID: "w_A", Target: Target{CallbackURL: cb.srv.URL + "/other", APISecret: cb.secret}, Sources: []Source{{ID: "x"}}}
	start := time.Now()
	views = append(views, p.View("u", "fast", staticPlan(fastPlan), fast.deliver))
	if r := fast.take(t, 1)[0]; r.Err != nil {
		t.Fatalf("the other URL's pull: %v", r.Err)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("the other URL's pull took %v", d)
	}
	if r := cb.next(); r.OutTrackID != "fast" {
		t.Fatalf("request %+v, want fast's", r)
	}
	if len(slow) == 0 { // the two still hang: the third has not gone
		cb.none()
	}
	for _, r := range slow.take(t, 3) {
		var pe *PullError
		if !errors.As(r.Err, &pe) || (pe.Kind != KindTimeout && pe.Kind != KindBusy) {
			t.Errorf("slow result %+v, want a timeout (or busy)", r)
		}
	}
	for _, v := range views {
		v.Stop()
		awaitDone(t, v)
	}
	if n := p.limits.inFlight(); n != 0 {
		t.Errorf("%d URLs held after every view ended", n)
	}
}

// A pull that finds no slot of its URL within the timeout fails (busy)
// without reaching the callback.
func TestPerURLLimitBusy(t *testing.T) {
	cb := newCallback(t, nil)
	p := testPuller(newFakeClock(), func(c *Config) { c.PerURL = 2; c.Timeout = 50 * time.Millisecond; c.Retries = -1 })
	url := cb.srv.URL + "/cb"
	for i := 0; i < 2; i++ {
		release, err := p.limits.acquire(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
	rs := make(results, 8)
	v := p.View("u", "card-1", cb.plan(Source{ID: "x"}), rs.deliver)
	r := rs.take(t, 1)[0]
	var pe *PullError
	if !errors.As(r.Err, &pe) || pe.Kind != KindBusy {
		t.Fatalf("result %+v, want busy", r)
	}
	awaitDone(t, v)
	cb.none()
}

func TestViewerPlan(t *testing.T) {
	cb := newCallback(t, nil)
	p := testPuller(newFakeClock(), nil)

	t.Run("error is told without a source", func(t *testing.T) {
		rs := make(results, 8)
		v := p.View("u", "card-1", func(context.Context) (*Plan, error) { return nil, errors.New("no callback registered") }, rs.deliver)
		if r := rs.take(t, 1)[0]; r.SourceID != "" || r.Err == nil {
			t.Errorf("result %+v", r)
		}
		awaitDone(t, v)
	})
	t.Run("no plan pulls nothing", func(t *testing.T) {
		rs := make(results, 8)
		v := p.View("u", "card-1", func(context.Context) (*Plan, error) { return nil, nil }, rs.deliver)
		awaitDone(t, v)
		if len(rs) != 0 {
			t.Errorf("result %+v", <-rs)
		}
	})
	t.Run("stop while loading", func(t *testing.T) {
		rs := make(results, 8)
		loading := make(chan struct{})
		v := p.View("u", "card-1", func(ctx context.Context) (*Plan, error) {
			close(loading)
			<-ctx.Done()
			return nil, ctx.Err()
		}, rs.deliver)
		<-loading
		v.Stop()
		awaitDone(t, v)
		if len(rs) != 0 {
			t.Errorf("result %+v", <-rs)
		}
	})
	cb.none()
}

func TestViews(t *testing.T) {
	clock := newFakeClock()
	cb := newCallback(t, nil)
	p := testPuller(clock, nil)
	rs := make(results, 4*MaxViewsPerConn)
	s := NewViews()
	var all []*Viewer
	start := func(key string, plan PlanFunc) func() *Viewer {
		return func() *Viewer {
			v := p.View("u", key, plan, rs.deliver)
			all = append(all, v)
			return v
		}
	}
	for i := 0; i < MaxViewsPerConn; i++ {
		if err := s.Start(fmt.Sprint("card-", i), start(fmt.Sprint("card-", i), cb.plan(Source{ID: "x", Interval: 6 * time.Second}))); err != nil {
			t.Fatalf("view %d: %v", i, err)
		}
	}
	rs.take(t, MaxViewsPerConn)
	if err := s.Start("one-more", start("one-more", cb.plan(Source{ID: "x"}))); !errors.Is(err, ErrTooManyViews) {
		t.Fatalf("a view past the bound: %v", err)
	}
	// Opening a card again starts its view over.
	first := all[0]
	if err := s.Start("card-0", start("card-0", cb.plan(Source{ID: "x", Interval: 6 * time.Second}))); err != nil {
		t.Fatal(err)
	}
	awaitDone(t, first)
	rs.take(t, 1)
	// A view that ended by itself leaves room.
	s.Stop("card-1")
	if err := s.Start("once", start("once", cb.plan(Source{ID: "x"}))); err != nil {
		t.Fatal(err)
	}
	rs.take(t, 1)
	awaitDone(t, all[len(all)-1])
	if err := s.Start("after-once", start("after-once", cb.plan(Source{ID: "x"}))); err != nil {
		t.Fatalf("a view past one that ended: %v", err)
	}
	s.StopAll()
	for _, v := range all {
		awaitDone(t, v)
	}
	if s.Len() != 0 {
		t.Errorf("%d views after StopAll", s.Len())
	}
}

// Views that come and go leave no goroutine behind: each view is one
// goroutine, pulls run in it, and it ends with Stop.
func TestViewerNoGoroutineLeak(t *testing.T) {
	clock := newFakeClock()
	cb := newCallback(t, nil)
	client := NewHTTPClient(true)
	p := testPuller(clock, func(c *Config) { c.Client = client })
	before := runtime.NumGoroutine()
	for round := 0; round < 3; round++ {
		rs := make(results, 256)
		s := NewViews()
		for i := 0; i < MaxViewsPerConn; i++ {
			key := fmt.Sprint("card-", i)
			s.Start(key, func() *Viewer {
				return p.View("u", key, cb.plan(Source{ID: "x", Interval: 6 * time.Second}, Source{ID: "y"}), rs.deliver)
			})
		}
		rs.take(t, 2*MaxViewsPerConn)
		for range MaxViewsPerConn {
			cb.next()
		}
		s.StopAll()
	}
	client.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before the views", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond) // polls for goroutines to have exited: there is no event to await
	}
	if n := p.limits.inFlight(); n != 0 {
		t.Errorf("%d URLs held", n)
	}
}
