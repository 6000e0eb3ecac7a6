package consistency

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tenant is a fake validation endpoint: sessions in valid are valid.
type tenant struct {
	*httptest.Server
	calls atomic.Int64
	mu    sync.Mutex
	got   []map[string]any
	hdr   http.Header
}

func newTenant(t *testing.T, answer func(req map[string]any) (int, string)) *tenant {
	tn := &tenant{}
	tn.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tn.calls.Add(1)
		var req map[string]any
		_ = json.NewDecoder(r.Body).Decode(&req)
		tn.mu.Lock()
		tn.got = append(tn.got, req)
		tn.hdr = r.Header.Clone()
		tn.mu.Unlock()
		st, body := answer(req)
		w.WriteHeader(st)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(tn.Close)
	return tn
}

func validIfGood(req map[string]any) (int, string) {
	valid := req["sessionId"] == "good"
	b, _ := json.Marshal(map[string]any{"success": true, "returnCode": "OK", "resultMsg": "SUCCESS", "result": map[string]any{"sid": req["sessionId"], "valid": valid}})
	return 200, string(b)
}

func TestHTTPValidatorSendsSourceFields(t *testing.T) {
	tn := newTenant(t, validIfGood)
	v := &HTTP{}
	res, err := v.Validate(context.Background(), tn.URL, Request{InstanceID: "ws_APP", UserID: "alice", SessionID: "good"})
	if err != nil || !res.Valid || res.ReturnCode != "OK" || res.Sid != "good" {
		t.Fatalf("valid session: %+v %v", res, err)
	}
	tn.mu.Lock()
	got, hdr := tn.got[0], tn.hdr
	tn.mu.Unlock()
	if len(got) != 3 || got["instanceId"] != "ws_APP" || got["userId"] != "alice" || got["sessionId"] != "good" {
		t.Fatalf("endpoint got %v", got)
	}
	if hdr.Get("Content-Type") != "application/json" || hdr.Get("Operation-Type") != OperationType {
		t.Fatalf("headers %v", hdr)
	}
	res, err = v.Validate(context.Background(), tn.URL, Request{InstanceID: "ws_APP", UserID: "alice", SessionID: "bad"})
	if err != nil || res.Valid {
		t.Fatalf("invalid session: %+v %v", res, err)
	}
}

func TestHTTPValidatorFailures(t *testing.T) {
	slow := newTenant(t, func(map[string]any) (int, string) {
		time.Sleep(500 * time.Millisecond)
		return 200, `{"success":true,"result":{"valid":true}}`
	})
	v := &HTTP{Timeout: 100 * time.Millisecond}
	start := time.Now()
	if _, err := v.Validate(context.Background(), slow.URL, Request{UserID: "u", SessionID: "s"}); err == nil {
		t.Fatal("a slow endpoint did not time out")
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Fatalf("timeout took %v", d)
	}
	for _, tc := range []struct {
		status int
		body   string
	}{{500, `{"success":true,"result":{"valid":true}}`}, {200, `not json`}, {302, ``}} {
		tn := newTenant(t, func(map[string]any) (int, string) { return tc.status, tc.body })
		if _, err := (&HTTP{}).Validate(context.Background(), tn.URL, Request{}); err == nil {
			t.Errorf("HTTP %d %q: no error", tc.status, tc.body)
		}
	}
	if _, err := (&HTTP{}).Validate(context.Background(), "", Request{}); err != ErrNoEndpoint {
		t.Fatalf("empty endpoint: %v", err)
	}
}

func TestParseAnswerShapes(t *testing.T) {
	cases := []struct {
		body  string
		valid bool
	}{
		{`{"success":true,"returnCode":"OK","result":{"sid":"s","valid":true}}`, true},
		{`{"success":true,"returnCode":"OK","result":{"sid":"s","valid":false}}`, false},
		{`{"success":false,"returnCode":"OPERATION_ERROR","result":{"valid":true}}`, false},
		{`{"success":"true","resultCode":"OK","result":{"sid":"s","valid":"true"}}`, true},
		{`{"response":{"resultCode":"OK","success":"true","result":{"sid":"kkdddd","valid":"true"}}}`, true},
		{`{"response":{"resultCode":"OK","success":"true","result":{"sid":"kkdddd","valid":"false"}}}`, false},
		{`{"success":true,"returnCode":"OK","result":"{\"sid\":\"s\",\"valid\":true}"}`, true},
		{`{"success":true,"returnCode":"OK"}`, false},
	}
	for _, tc := range cases {
		res, err := ParseAnswer([]byte(tc.body))
		if err != nil || res.Valid != tc.valid {
			t.Errorf("%s: %+v %v, want valid=%v", tc.body, res, err, tc.valid)
		}
	}
	if _, err := ParseAnswer([]byte(`{"success":"maybe"}`)); err == nil {
		t.Error("a non-boolean success parsed")
	}
}

func TestCachedBoundsAndExpiry(t *testing.T) {
	tn := newTenant(t, validIfGood)
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	c := &Cached{Inner: &HTTP{}, TTL: time.Minute, FailureTTL: time.Second, MaxEntries: 3, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	r := Request{InstanceID: "ws_APP", UserID: "alice", SessionID: "good"}
	for i := 0; i < 3; i++ {
		if res, err := c.Validate(context.Background(), tn.URL, r); err != nil || !res.Valid {
			t.Fatal(res, err)
		}
	}
	if n := tn.calls.Load(); n != 1 {
		t.Fatalf("3 asks made %d calls, want 1", n)
	}
	// Another session, user or endpoint is another entry.
	c.Validate(context.Background(), tn.URL, Request{InstanceID: "ws_APP", UserID: "alice", SessionID: "bad"})
	c.Validate(context.Background(), tn.URL+"/other", r)
	if n := tn.calls.Load(); n != 3 {
		t.Fatalf("calls %d, want 3", n)
	}
	advance(2 * time.Minute)
	c.Validate(context.Background(), tn.URL, r)
	if n := tn.calls.Load(); n != 4 {
		t.Fatalf("after the TTL: calls %d, want 4", n)
	}
	for i := 0; i < 10; i++ {
		c.Validate(context.Background(), tn.URL, Request{UserID: "u", SessionID: string(rune('a' + i))})
	}
	if c.Len() > 3 {
		t.Fatalf("cache holds %d entries, bound 3", c.Len())
	}
	// Concurrent asks of one key make one call.
	before := tn.calls.Load()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Validate(context.Background(), tn.URL, Request{UserID: "same", SessionID: "good"})
		}()
	}
	wg.Wait()
	if n := tn.calls.Load() - before; n != 1 {
		t.Fatalf("20 concurrent asks made %d calls", n)
	}
}

func TestCachedFailuresExpireSooner(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	tn := newTenant(t, func(req map[string]any) (int, string) {
		if fail.Load() {
			return 503, ""
		}
		return validIfGood(req)
	})
	now := time.Unix(1000, 0)
	c := &Cached{Inner: &HTTP{}, TTL: time.Minute, FailureTTL: time.Second, Now: func() time.Time { return now }}
	r := Request{UserID: "u", SessionID: "good"}
	if _, err := c.Validate(context.Background(), tn.URL, r); err == nil {
		t.Fatal("no error from a failing endpoint")
	}
	fail.Store(false)
	if _, err := c.Validate(context.Background(), tn.URL, r); err == nil {
		t.Fatal("the failure was not cached")
	}
	now = now.Add(2 * time.Second)
	if res, err := c.Validate(context.Background(), tn.URL, r); err != nil || !res.Valid {
		t.Fatalf("after the failure TTL: %+v %v", res, err)
	}
}
