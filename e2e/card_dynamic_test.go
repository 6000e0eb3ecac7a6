package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Two users view one card with a ONCE and a 6 s INTERVAL source: the
// callback (which checks every signature) gets all sources in one request
// per viewer and answers per user; each user sees only their own data.
// The INTERVAL source is pulled again while the card is open, the ONCE
// one is not; a close stops the pulls within one interval, a re-open
// pulls both again; a non-recipient causes no pull. After the run, the
// callback's sentinel is nowhere in the node's data directory or logs.
func TestCardDynamicData(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "--card-callback-private")
	const inst = "ws_CARDDYN"
	sentinel := "SENTINEL" + randomHex(t)
	cb := newDynCallback(t, "dyn-secret-1", sentinel)
	cb.register(t, srv.URL, inst, "rk", "/cb")
	createCard(t, srv.URL, inst, "dyn-1", map[string]any{"userId": "alice", "cardData": params("title", "balance"),
		"privateData": map[string]any{"bob": params("note", "b")}, "callbackRouteKey": "rk",
		"openDynamicDataConfig": dynSources([]string{"balance"}, 6, "quote")})

	is := func(user string) func(dynRequest) bool { return func(r dynRequest) bool { return r.UserID == user } }
	// seesOwn checks the next frames of v: one per source, each the data
	// the callback answered for user.
	seesOwn := func(v *cardViewer, user string, sources ...string) {
		t.Helper()
		var got []string
		for range sources {
			f := v.nextDynamic(t, 10*time.Second)
			if f.OutTrackId != "dyn-1" || f.Error != "" || f.ValueType != "OBJECT" || f.Data != dynData(user, f.SourceId, sentinel) || f.PulledAt == 0 {
				t.Fatalf("%s got dynamic data %+v, want %s's own", user, f, user)
			}
			got = append(got, f.SourceId)
		}
		slices.Sort(got)
		if !slices.Equal(got, sources) {
			t.Fatalf("%s got data of %v, want %v", user, got, sources)
		}
	}

	vdir := t.TempDir()
	alice := connectCardViewer(t, srv.URL, inst, "alice", "dev-a", filepath.Join(vdir, "a.json"), "dyn-1")
	a0, ai0 := cb.await(0, 10*time.Second, is("alice"))
	if !sameSources(a0, "balance", "quote") || a0.CorpID != inst || a0.OutTrackID != "dyn-1" || a0.Path != "/cb" {
		t.Fatalf("alice's first pull %+v, want balance and quote of %s's dyn-1 in one request", a0, inst)
	}
	seesOwn(alice, "alice", "balance", "quote")
	// Bob opens after alice, so his pulls come after hers.
	bob := connectCardViewer(t, srv.URL, inst, "bob", "dev-b", filepath.Join(vdir, "b.json"), "dyn-1")
	if b0, _ := cb.await(0, 10*time.Second, is("bob")); !sameSources(b0, "balance", "quote") {
		t.Fatalf("bob's first pull %+v", b0)
	}
	seesOwn(bob, "bob", "balance", "quote")
	eve := connectCardViewer(t, srv.URL, inst, "eve", "dev-e", filepath.Join(vdir, "e.json"), "dyn-1")
	if v := eve.nextView(t); v.Version != 0 {
		t.Fatalf("eve, no recipient, got %+v", v)
	}

	// The INTERVAL source again, one interval on; the ONCE one not.
	a1, ai1 := cb.await(ai0+1, 10*time.Second, is("alice"))
	if !sameSources(a1, "quote") {
		t.Fatalf("alice's second pull %+v, want quote only", a1)
	}
	if d := a1.At.Sub(a0.At); d < 5500*time.Millisecond || d > 8*time.Second {
		t.Errorf("alice's second pull came %v after the first, want about 6 s", d)
	}
	seesOwn(alice, "alice", "quote")

	// Closed: alice is pulled no more. Bob's pull one interval after his
	// next comes after alice's would have.
	alice.CloseCard("dyn-1")
	closed := time.Now()
	b2, _ := cb.await(0, 15*time.Second, func(r dynRequest) bool { return r.UserID == "bob" && r.At.After(closed.Add(5*time.Second)) })
	if !sameSources(b2, "quote") {
		t.Fatalf("bob's pull %+v, want quote only", b2)
	}
	seesOwn(bob, "bob", "quote")
	seesOwn(bob, "bob", "quote")
	if r, _ := cb.find(ai1+1, is("alice")); r != nil {
		t.Fatalf("alice pulled after her close (%v after it): %+v", r.At.Sub(closed), *r)
	}

	// Open again: both sources again.
	if err := alice.OpenCard("dyn-1"); err != nil {
		t.Fatal(err)
	}
	if a2, _ := cb.await(ai1+1, 10*time.Second, is("alice")); !sameSources(a2, "balance", "quote") {
		t.Fatalf("alice's pull after re-opening %+v, want balance and quote", a2)
	}
	seesOwn(alice, "alice", "balance", "quote")

	if r, _ := cb.find(0, is("eve")); r != nil {
		t.Fatalf("a pull for eve, no recipient: %+v", *r)
	}
	if len(eve.dynamic) != 0 {
		t.Fatalf("eve got dynamic data: %+v", <-eve.dynamic)
	}

	// The sentinel is in no metric, no file of the data directory (Pebble's
	// included), no log line.
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsText, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bytes.Contains(metricsText, []byte(sentinel)) {
		t.Fatal("the sentinel is in /metrics")
	}
	if !bytes.Contains(metricsText, []byte(`opsync_card_dynamic_pulls_total{outcome="ok"}`)) {
		t.Error("/metrics has no count of dynamic pulls")
	}
	alice.Close()
	bob.Close()
	eve.Close()
	srv.stop()
	files := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files++
		if bytes.Contains(b, []byte(sentinel)) {
			t.Errorf("the sentinel is in %s", p)
		}
		return nil
	})
	if files == 0 {
		t.Fatal("no file in the data directory")
	}
	if strings.Contains(srv.stderr.String(), sentinel) {
		t.Error("the sentinel is in the node's log")
	}
}

// A callback that never answers: a card on another callback, opened on
// the same connection meanwhile, is shown no later than without it (100
// ms of slack), and the viewer of the hung card gets an error for each of
// its sources once the timeouts and retries are spent.
func TestCardDynamicHungCallback(t *testing.T) {
	srv := startServer(t, t.TempDir(), "--card-callback-private")
	const inst = "ws_CARDHUNG"
	hung := newDynCallback(t, "hung-secret", "unused")
	fast := newDynCallback(t, "fast-secret", "fast")
	hung.register(t, srv.URL, inst, "hung", "/hang")
	fast.register(t, srv.URL, inst, "fast", "/cb")
	for _, c := range []struct{ id, route string }{{"hung-1", "hung"}, {"fast-0", "fast"}, {"fast-1", "fast"}} {
		createCard(t, srv.URL, inst, c.id, map[string]any{"userId": "alice", "cardData": params("k", c.id), "callbackRouteKey": c.route,
			"openDynamicDataConfig": dynSources([]string{"s1", "s2"}, 0)})
	}
	alice := connectCardViewer(t, srv.URL, inst, "alice", "dev-a", filepath.Join(t.TempDir(), "a.json"))

	// shown opens a card and is how long its view and its data took.
	shown := func(id string) time.Duration {
		t.Helper()
		start := time.Now()
		if err := alice.OpenCard(id); err != nil {
			t.Fatal(err)
		}
		if v := alice.nextView(t); v.OutTrackId != id || v.Version != 1 {
			t.Fatalf("view %+v, want %s's", v, id)
		}
		for range 2 {
			if f := alice.nextDynamic(t, 10*time.Second); f.OutTrackId != id || f.Error != "" || f.Data != dynData("alice", f.SourceId, "fast") {
				t.Fatalf("dynamic data %+v, want %s's", f, id)
			}
		}
		return time.Since(start)
	}
	base := shown("fast-0")

	if err := alice.OpenCard("hung-1"); err != nil {
		t.Fatal(err)
	}
	hungOpened := time.Now()
	if v := alice.nextView(t); v.OutTrackId != "hung-1" {
		t.Fatalf("view %+v, want hung-1's", v)
	}
	_, first := hung.await(0, 10*time.Second, func(dynRequest) bool { return true })
	if d := shown("fast-1"); d > base+100*time.Millisecond {
		t.Errorf("fast-1 took %v to show while hung-1's callback hung, fast-0 %v before", d, base)
	}

	// 3 attempts of 2 s, backoffs of 200 and 400 ms (+ up to half again).
	var got []string
	for range 2 {
		f := alice.nextDynamic(t, 10*time.Second)
		if f.OutTrackId != "hung-1" || f.Error == "" || f.Data != "" || !strings.Contains(f.Error, "did not answer within 2s") {
			t.Fatalf("dynamic data %+v, want hung-1's error", f)
		}
		got = append(got, f.SourceId)
	}
	if d := time.Since(hungOpened); d < 6*time.Second || d > 8*time.Second {
		t.Errorf("the errors came %v after the open, want within 3 timeouts and the backoffs", d)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"s1", "s2"}) {
		t.Fatalf("errors for %v, want s1 and s2", got)
	}
	if n := len(hung.requests()) - first; n != 3 {
		t.Errorf("the hung callback got %d requests, want 3 (2 retries)", n)
	}
}

func randomHex(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
