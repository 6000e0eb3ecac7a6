package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"golang.org/x/sync/errgroup"
)

// expectVersions checks that a viewer receives exactly the versions from
// first to last, in order: none missing, none twice, never a lower one.
func expectVersions(t *testing.T, v *viewer, first, last uint64) {
	t.Helper()
	for want := first; want <= last; want++ {
		if b := v.nextState(t); b.Version != want {
			t.Fatalf("viewer %s: version %d, want %d", v.SyncDeviceID(), b.Version, want)
		}
	}
}

// runUpdaters sends n updates of a block from w concurrent updaters,
// versions assigned by the server; each must succeed. Halfway it calls
// mid (once). Failures are reported from the test's goroutine.
func runUpdaters(t *testing.T, urls []string, instance, blockID string, w, n int, mid func()) {
	t.Helper()
	for _, u := range urls {
		ensureInstance(t, u, instance)
	}
	var g errgroup.Group
	var once sync.Once
	for u := range w {
		g.Go(func() error {
			for i := u; i < n; i += w {
				if i == n/2 && mid != nil {
					once.Do(mid)
				}
				st, a, err := tryUpdateBlock(t, urls[i%len(urls)], instance, blockID, fmt.Sprintf(`{"i":%d}`, i), "")
				if err != nil {
					return fmt.Errorf("update %d: %w", i, err)
				}
				if st != http.StatusOK || a.Code != 0 {
					return fmt.Errorf("update %d: HTTP %d code %d %s", i, st, a.Code, a.Msg)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// 1,000 viewers of one block see exactly the same sequence of versions
// for 200 updates from 4 concurrent updaters; a viewer that opens the
// block halfway first receives the current version, then every newer one.
func TestBlockThousandViewersSeeEveryVersionInOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 connections")
	}
	srv := startServer(t, t.TempDir())
	const inst, viewers, updates = "ws_BLOCKFAN", 1000, 200
	id := createBlock(t, srv.URL, inst, nil)
	specs := make([]viewerSpec, viewers)
	for i := range specs {
		specs[i] = viewerSpec{srv.URL, fmt.Sprintf("u%d", i), fmt.Sprintf("d%d", i)}
	}
	vs := connectViewers(t, inst, specs, id)
	for _, v := range vs {
		expectVersions(t, v, 1, 1) // opened: the current version
	}
	// The late viewer connects from an updater's goroutine: it reports
	// back on late, and the test fails from its own.
	type dialed struct {
		v   *viewer
		err error
	}
	late := make(chan dialed, 1)
	runUpdaters(t, []string{srv.URL}, inst, id, 4, updates, func() {
		go func() {
			v, err := dialViewer(t, srv.URL, inst, "late", "dlate", id)
			late <- dialed{v, err}
		}()
	})
	for _, v := range vs {
		expectVersions(t, v, 2, updates+1)
	}
	d := <-late
	if d.err != nil {
		t.Fatal(d.err)
	}
	lv := d.v
	first := lv.nextState(t).Version
	if first < 1 || first > updates+1 {
		t.Fatalf("the late viewer's first version is %d", first)
	}
	expectVersions(t, lv, first+1, updates+1)
	st, a := blockAPI(t, srv.URL, inst, http.MethodGet, "/open-apis/block/v2/entities/"+id, nil)
	if e := entityOf(t, st, a); e.Version != versionString(updates+1) {
		t.Fatalf("the block is at version %s", e.Version)
	}
}
