package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
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
// mid (once).
func runUpdaters(t *testing.T, urls []string, instance, blockID string, w, n int, mid func()) {
	t.Helper()
	var wg sync.WaitGroup
	var once sync.Once
	errs := make(chan string, n)
	for u := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := u; i < n; i += w {
				if i == n/2 && mid != nil {
					once.Do(mid)
				}
				st, a := updateBlock(t, urls[i%len(urls)], instance, blockID, fmt.Sprintf(`{"i":%d}`, i), "")
				if st != http.StatusOK || a.Code != 0 {
					errs <- fmt.Sprintf("update %d: HTTP %d code %d %s", i, st, a.Code, a.Msg)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
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
	vs := make([]*viewer, viewers)
	var wg sync.WaitGroup
	for i := range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vs[i] = connectViewer(t, srv.URL, inst, fmt.Sprintf("u%d", i), fmt.Sprintf("d%d", i), id)
		}()
	}
	wg.Wait()
	for _, v := range vs {
		expectVersions(t, v, 1, 1) // opened: the current version
	}
	late := make(chan *viewer, 1)
	runUpdaters(t, []string{srv.URL}, inst, id, 4, updates, func() {
		go func() { late <- connectViewer(t, srv.URL, inst, "late", "dlate", id) }()
	})
	for _, v := range vs {
		expectVersions(t, v, 2, updates+1)
	}
	lv := <-late
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
