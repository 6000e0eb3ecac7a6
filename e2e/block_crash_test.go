package e2e

import (
	"net/http"
	"testing"
)

// kill -9 right after an update's success: after a restart, a new viewer
// gets that version (it was journaled before the answer).
func TestBlockKill9KeepsAnsweredVersion(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	const inst = "ws_BLOCKCRASH"
	id := createBlock(t, srv.URL, inst, nil)
	for _, d := range []string{`{"v":2}`, `{"v":3}`} {
		if st, a := updateBlock(t, srv.URL, inst, id, d, ""); st != http.StatusOK || a.Code != 0 {
			t.Fatalf("update: HTTP %d %+v", st, a)
		}
	}
	srv.kill9()
	srv = startServer(t, dir)
	v := connectViewer(t, srv.URL, inst, "u", "d", id)
	if b := v.nextState(t); b.Version != 3 || b.SourceData != `{"v":3}` {
		t.Fatalf("after kill -9 a viewer got version %d %s, want 3", b.Version, b.SourceData)
	}
}
