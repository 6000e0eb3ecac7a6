package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTenant is the tenant's user-consistency validation endpoint (source
// §5.4): sessions starting with "good" are valid. It is the one fake of
// these tests: the tenant's system is not opsync's.
type fakeTenant struct {
	*httptest.Server
	calls atomic.Int64
	mode  atomic.Value // "", "fail" or "slow"
	mu    sync.Mutex
	asked []map[string]any
}

func newFakeTenant(t *testing.T) *fakeTenant {
	ft := &fakeTenant{}
	ft.mode.Store("")
	ft.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ft.calls.Add(1)
		var req map[string]any
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "bad request", 400)
			return
		}
		ft.mu.Lock()
		ft.asked = append(ft.asked, req)
		ft.mu.Unlock()
		switch ft.mode.Load() {
		case "fail":
			http.Error(w, "down", 500)
			return
		case "slow":
			time.Sleep(3 * time.Second)
		}
		sid, _ := req["sessionId"].(string)
		json.NewEncoder(w).Encode(map[string]any{"success": true, "returnCode": "OK", "resultMsg": "SUCCESS",
			"result": map[string]any{"sid": sid, "valid": strings.HasPrefix(sid, "good")}})
	}))
	t.Cleanup(ft.Close)
	return ft
}

// quiet checks that c receives nothing for a while.
func (c *appClient) quiet(t *testing.T) {
	t.Helper()
	select {
	case m := <-c.msgs:
		t.Fatalf("unexpected %s %q", m.BizType, m.ThirdMsgID)
	case <-time.After(300 * time.Millisecond):
	}
}

// The validation endpoint answering valid:false stops delivery of the
// bizTypes with the consistency check on, and only those; the endpoint is
// asked with the source's fields, its answers are cached, a failing or
// slow endpoint means not valid, and the signature switch turns all checks
// off.
func TestUserConsistency(t *testing.T) {
	srv := startServer(t, t.TempDir())
	tenant := newFakeTenant(t)
	const inst = "ws_CONSIST"
	putBizType(t, srv.URL, inst, "SECURE", map[string]any{"target": "user", "multiDevice": true, "consistencyCheck": true})
	putBizType(t, srv.URL, inst, "PLAIN", map[string]any{"target": "user", "multiDevice": true})
	setSettings(t, srv.URL, inst, map[string]any{"validationUrl": tenant.URL + "/validate"})
	both := []string{"SECURE", "PLAIN"}
	for _, u := range []string{"alice", "mallory"} {
		pushOK(t, srv.URL, inst, "SECURE", u, u+"-s1")
	}

	// A valid session gets both bizTypes.
	alice, err := tryConnect(t, srv.URL, inst, "alice", "good-a1", "a-phone", "", both...)
	if err != nil {
		t.Fatal(err)
	}
	alice.expect(t, "alice-s1")
	tenant.mu.Lock()
	first := tenant.asked[0]
	tenant.mu.Unlock()
	if len(first) != 3 || first["instanceId"] != inst || first["userId"] != "alice" || first["sessionId"] != "good-a1" {
		t.Fatalf("the endpoint was asked %v", first)
	}

	// An invalid session gets the unchecked bizType only.
	mallory, err := tryConnect(t, srv.URL, inst, "mallory", "stolen", "m-phone", "", both...)
	if err != nil {
		t.Fatal(err)
	}
	pushOK(t, srv.URL, inst, "SECURE", "mallory", "mallory-s2")
	pushOK(t, srv.URL, inst, "PLAIN", "mallory", "mallory-p1")
	mallory.expect(t, "mallory-p1")
	mallory.quiet(t)
	pushOK(t, srv.URL, inst, "SECURE", "alice", "alice-s2")
	alice.expect(t, "alice-s2")
	if n := tenant.calls.Load(); n != 2 {
		t.Fatalf("endpoint calls %d, want 2", n)
	}

	// Answers are cached per (instance, user, session).
	mallory.Close()
	m2, err := tryConnect(t, srv.URL, inst, "mallory", "stolen", "m-tablet", "", "PLAIN", "SECURE")
	if err != nil {
		t.Fatal(err)
	}
	m2.expect(t, "mallory-p1")
	m2.quiet(t)
	if n := tenant.calls.Load(); n != 2 {
		t.Fatalf("a cached session called the endpoint again: %d calls", n)
	}
	m2.Close()

	// The signature switch off: no check, everything delivered, the
	// endpoint not asked.
	setSettings(t, srv.URL, inst, map[string]any{"signatureCheck": false})
	m3, err := tryConnect(t, srv.URL, inst, "mallory", "stolen-2", "m-laptop", "", "SECURE")
	if err != nil {
		t.Fatal(err)
	}
	m3.expect(t, "mallory-s1", "mallory-s2")
	if n := tenant.calls.Load(); n != 2 {
		t.Fatalf("the endpoint was asked with the switch off: %d calls", n)
	}
	m3.Close()
	setSettings(t, srv.URL, inst, map[string]any{"signatureCheck": true})

	// A failing endpoint means not valid (and a slow one, cut at 2 s).
	for _, mode := range []string{"fail", "slow"} {
		tenant.mode.Store(mode)
		user := "bob-" + mode
		pushOK(t, srv.URL, inst, "SECURE", user, user+"-s")
		t0 := time.Now()
		b, err := tryConnect(t, srv.URL, inst, user, "good-but-unchecked", "b", "", both...)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d > 8*time.Second {
			t.Fatalf("%s endpoint: connecting took %v", mode, d)
		}
		pushOK(t, srv.URL, inst, "PLAIN", user, user+"-p")
		b.expect(t, user+"-p")
		b.quiet(t)
		b.Close()
	}
	tenant.mode.Store("")

	// Without a validation endpoint nothing is checked.
	setSettings(t, srv.URL, inst, map[string]any{"validationUrl": ""})
	calls := tenant.calls.Load()
	m4, err := tryConnect(t, srv.URL, inst, "mallory", "stolen-3", "m-watch", "", "SECURE")
	if err != nil {
		t.Fatal(err)
	}
	m4.expect(t, "mallory-s1", "mallory-s2")
	if tenant.calls.Load() != calls {
		t.Fatal("the endpoint was asked without being configured")
	}

	// An instance with an endpoint but no bizType with the check on never
	// asks it.
	putBizType(t, srv.URL, "ws_CONSIST2", "PLAIN", map[string]any{})
	setSettings(t, srv.URL, "ws_CONSIST2", map[string]any{"validationUrl": tenant.URL})
	if _, err := tryConnect(t, srv.URL, "ws_CONSIST2", "zed", "whatever", "z", "", "PLAIN"); err != nil {
		t.Fatal(err)
	}
	if tenant.calls.Load() != calls {
		t.Fatal("the endpoint was asked for an instance without checked bizTypes")
	}

	// The settings refuse what is not an http(s) URL.
	var e instanceAnswer
	for _, bad := range []string{"ftp://x/y", "not a url", "/relative"} {
		if st := call(t, http.MethodPatch, srv.URL+"/api/v1/instances/"+inst+"/settings", map[string]any{"validationUrl": bad}, &e); st != 400 {
			t.Errorf("validationUrl %q: HTTP %d", bad, st)
		}
	}
}
