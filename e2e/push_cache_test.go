package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

// The push service's instance cache: how many round trips pushes make to
// their instance, and how fast a change of the instance reaches pushes,
// on the node that served it and across a node set.

// pushWithKey pushes body to the single push API of base with exactly the
// API key key.
func pushWithKey(t *testing.T, base, instance, key string, body map[string]any) (int, pushAnswer) {
	t.Helper()
	var a pushAnswer
	st := callWith(t, http.MethodPost, base+"/webapi/sync/single?instanceId="+url.QueryEscape(instance), body, &a, http.Header{"X-Opsync-Api-Key": {key}})
	return st, a
}

// adminCall is a call of the admin API that must answer 200 or 201.
func adminCall(t *testing.T, method, u string, body any) map[string]any {
	t.Helper()
	var a map[string]any
	if st := call(t, method, u, body, &a); st != http.StatusOK && st != http.StatusCreated {
		t.Fatalf("%s %s: HTTP %d %v", method, u, st, a)
	}
	return a
}

const missMetric = `opsync_push_cache_total{result="miss"}`

// N single pushes of one instance make at most N round trips to the
// instance actor, and with the cache far fewer: one load, shared.
func TestPushesOfOneInstanceShareOneInstanceRoundTrip(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst, n = "ws_ROUNDTRIPS", 50
	putBizType(t, srv.URL, inst, "CHAT", map[string]any{})
	key := apiKey(t, srv.URL, inst)
	before := metricValue(t, srv.URL, "opsync_push_instance_requests_total")
	hitsBefore := metricValue(t, srv.URL, `opsync_push_cache_total{result="hit"}`)

	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 10 {
				st, a := pushWithKey(t, srv.URL, inst, key, map[string]any{"bizType": "CHAT", "linkToken": fmt.Sprint("u", i%7), "thirdMsgId": fmt.Sprint("m", i), "payload": "x"})
				if st != 200 || a.Msg != "SUCCESS" {
					t.Errorf("push %d: HTTP %d %+v", i, st, a)
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	trips := metricValue(t, srv.URL, "opsync_push_instance_requests_total") - before
	hits := metricValue(t, srv.URL, `opsync_push_cache_total{result="hit"}`) - hitsBefore
	t.Logf("%d pushes in %v: %v instance round trips, %v cache hits", n, elapsed, trips, hits)
	if trips > n {
		t.Fatalf("%d pushes made %v instance round trips: more than one each", n, trips)
	}
	if trips > 2 {
		t.Fatalf("%d pushes of one instance made %v instance round trips, want at most 2 (cached)", n, trips)
	}
	if hits < n-2 {
		t.Fatalf("%v cache hits for %d pushes", hits, n)
	}
}

// A change served by a node takes effect there for the very next push:
// offline, a global config's creation, a deletion, a key rotation, an instance's
// creation.
func TestInstanceChangesTakeEffectAtOnceOnTheirNode(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_ATONCE"
	base := srv.URL + "/api/v1/instances/" + inst
	seq := 0
	body := func(biz string) map[string]any {
		seq++
		return map[string]any{"bizType": biz, "linkToken": "alice", "thirdMsgId": fmt.Sprint("m", seq), "payload": "x"}
	}
	expect := func(key, biz string, status int, code, when string) {
		t.Helper()
		if st, a := pushWithKey(t, srv.URL, inst, key, body(biz)); st != status || a.Msg != code {
			t.Fatalf("%s: HTTP %d %+v, want HTTP %d %s", when, st, a, status, code)
		}
	}

	// An instance that does not exist yet (remembered as missing), then
	// created: the next push finds it.
	expect("any", "CHAT", 200, "INSTANCE_NOT_FOUND", "before the instance exists")
	expect("any", "CHAT", 200, "INSTANCE_NOT_FOUND", "again")
	key := createInstance(t, srv.URL, inst).Instance.APIKey
	expect(key, "CHAT", 200, "BIZ_NOT_ONLINE", "right after the creation")
	adminCall(t, http.MethodPut, base+"/biztypes/CHAT", map[string]any{})
	expect(key, "CHAT", 200, "SUCCESS", "right after the config put")

	adminCall(t, http.MethodPost, base+"/biztypes/CHAT/offline", nil)
	expect(key, "CHAT", 200, "BIZ_NOT_ONLINE", "right after offline")
	adminCall(t, http.MethodPost, base+"/biztypes/CHAT/online", nil)
	expect(key, "CHAT", 200, "SUCCESS", "right after online")
	adminCall(t, http.MethodPut, base+"/biztypes/GCHAT", map[string]any{"scope": "global"})
	expect(key, "GCHAT", 200, "NOT_SUPPORT_GLOBAL", "right after a global config's creation")
	adminCall(t, http.MethodDelete, base+"/biztypes/CHAT", nil)
	expect(key, "CHAT", 200, "BIZ_NOT_ONLINE", "right after the delete")
	adminCall(t, http.MethodPut, base+"/biztypes/CHAT", map[string]any{})
	expect(key, "CHAT", 200, "SUCCESS", "right after the config came back")

	rotated := adminCall(t, http.MethodPost, base+"/keys/rotate", nil)["instance"].(map[string]any)["apiKey"].(string)
	rememberAPIKey(srv.URL, inst, rotated)
	expect(key, "CHAT", 200, "UNAUTHORIZED", "the old key right after the rotation")
	expect(rotated, "CHAT", 200, "SUCCESS", "the new key right after the rotation")
}

// freshContext pushes through base until a push loaded the instance's
// context anew there (a cache miss on that node), so that the node's
// cached context is brand new: a change made now stays hidden from that
// node for nearly the whole cache TTL, but for the instance's change
// notice.
func freshContext(t *testing.T, base, inst, key string, body func() map[string]any, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		before := metricValue(t, base, missMetric)
		if st, a := pushWithKey(t, base, inst, key, body()); a.Msg != want {
			t.Fatalf("push through %s: HTTP %d %+v, want %s", base, st, a, want)
		}
		if metricValue(t, base, missMetric) > before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never loaded the context of %s anew", base, inst)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// noticeBound is how soon a change must reach another node's pushes in
// the test: well under the cache TTL (2 s), so that only the instance's
// change notice, not the TTL, can meet it.
const noticeBound = time.Second

// A change made through node A reaches pushes on nodes B and C through
// the instance's change notice, well before the cache TTL would: offline
// and online, a key rotation, an instance's creation.
func TestSetInstanceChangesReachEveryNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	set := newNodeSet(t, 3, loopbackLayout(t, 3))
	const inst = "ws_NOTICE"
	a := set.url(0)
	others := []string{set.url(1), set.url(2)}
	seq := 0
	body := func() map[string]any {
		seq++
		return map[string]any{"bizType": "CHAT", "linkToken": fmt.Sprint("u", seq%5), "thirdMsgId": fmt.Sprint("m", seq), "payload": "x"}
	}
	// within polls node b until a push answers want, failing after
	// noticeBound from the change.
	within := func(b, key, want, what string, changed time.Time) {
		t.Helper()
		var last pushAnswer
		var lastSt int
		for time.Since(changed) < noticeBound {
			lastSt, last = pushWithKey(t, b, inst, key, body())
			if last.Msg == want {
				t.Logf("%s reached %s after %v", what, b, time.Since(changed).Round(time.Millisecond))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s did not reach %s within %v: last push HTTP %d %+v, want %s", what, b, noticeBound, lastSt, last, want)
	}

	// Creation: B and C remember the instance as missing, then A creates it.
	for _, b := range others {
		if st, ans := pushWithKey(t, b, inst, "any", body()); st != 200 || ans.Msg != "INSTANCE_NOT_FOUND" {
			t.Fatalf("before the instance exists, %s: HTTP %d %+v", b, st, ans)
		}
	}
	key := createInstance(t, a, inst).Instance.APIKey
	changed := time.Now()
	for _, b := range others {
		within(b, key, "BIZ_NOT_ONLINE", "the instance's creation", changed)
	}
	adminCall(t, http.MethodPut, a+"/api/v1/instances/"+inst+"/biztypes/CHAT", map[string]any{})
	changed = time.Now()
	for _, b := range others {
		within(b, key, "SUCCESS", "the config's creation", changed)
	}

	for _, step := range []struct{ verb, want string }{{"offline", "BIZ_NOT_ONLINE"}, {"online", "SUCCESS"}} {
		prev := map[string]string{"offline": "SUCCESS", "online": "BIZ_NOT_ONLINE"}[step.verb]
		for _, b := range others {
			freshContext(t, b, inst, key, body, prev)
		}
		adminCall(t, http.MethodPost, a+"/api/v1/instances/"+inst+"/biztypes/CHAT/"+step.verb, nil)
		changed := time.Now()
		for _, b := range others {
			within(b, key, step.want, step.verb, changed)
		}
	}

	for _, b := range others {
		freshContext(t, b, inst, key, body, "SUCCESS")
	}
	rotated := adminCall(t, http.MethodPost, a+"/api/v1/instances/"+inst+"/keys/rotate", nil)["instance"].(map[string]any)["apiKey"].(string)
	changed = time.Now()
	for _, b := range others {
		within(b, key, "UNAUTHORIZED", "the key rotation (old key)", changed)
		within(b, rotated, "SUCCESS", "the key rotation (new key)", changed)
	}
}
