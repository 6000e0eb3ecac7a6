package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Deleting a block: its viewers get a last version saying deleted, later
// requests answer 1770002, the journal keeps no event (a business id's
// block keeps its tombstone snapshot, another block nothing), a deletion
// survives kill -9, and the business id's block can be created again
// above the tombstone, reaching the viewers that have it open.
func TestBlockDelete(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	const inst = "ws_BLOCKDEL"
	id := createBlock(t, srv.URL, inst, map[string]any{"business_id": "poll-del"})
	other := createBlock(t, srv.URL, inst, nil)
	v := connectViewer(t, srv.URL, inst, "u", "d", id)
	expectVersions(t, v, 1, 1)
	if st, a := updateBlock(t, srv.URL, inst, id, `{"votes":1}`, ""); st != http.StatusOK || a.Code != 0 {
		t.Fatalf("update: HTTP %d %+v", st, a)
	}
	expectVersions(t, v, 2, 2)

	st, a := blockAPI(t, srv.URL, inst, http.MethodDelete, "/open-apis/block/v2/entities/"+id, nil)
	var del struct {
		Entity struct {
			BlockID string `json:"block_id"`
			Version string `json:"version"`
			Deleted bool   `json:"deleted"`
		} `json:"entity"`
	}
	if st != http.StatusOK || a.Code != 0 || json.Unmarshal(a.Data, &del) != nil || !del.Entity.Deleted || del.Entity.Version != "3" || del.Entity.BlockID != id {
		t.Fatalf("delete: HTTP %d %+v %s", st, a, a.Data)
	}
	if b := v.nextState(t); !b.Deleted || b.Version != 3 || b.SourceData != "" {
		t.Fatalf("the viewer's last version: %+v", b)
	}
	if st, a := blockAPI(t, srv.URL, inst, http.MethodDelete, "/open-apis/block/v2/entities/"+other, nil); st != http.StatusOK || a.Code != 0 {
		t.Fatalf("delete of a block without business id: HTTP %d %+v", st, a)
	}
	expectGone(t, srv.URL, inst, id, "poll-del")

	// The journals keep no event: the business id's block its tombstone
	// snapshot, the other nothing.
	srv.stop()
	for actor, wantSnap := range map[string]bool{"block:" + inst + "/b/" + id: true, "block:" + inst + "/b/" + other: false} {
		j := journalActor(t, dir, actor)
		if j.Events != 0 || (j.SnapshotSeq > 0) != wantSnap {
			t.Errorf("journal of %s after the deletion: %+v", actor, j)
		}
	}

	// kill -9 right after a deletion's answer: still deleted.
	srv = startServer(t, dir)
	killed := createBlock(t, srv.URL, inst, map[string]any{"business_id": "poll-kill"})
	if st, a := blockAPI(t, srv.URL, inst, http.MethodDelete, "/open-apis/block/v2/entities/"+killed, nil); st != http.StatusOK || a.Code != 0 {
		t.Fatalf("delete: HTTP %d %+v", st, a)
	}
	srv.kill9()
	srv = startServer(t, dir)
	expectGone(t, srv.URL, inst, killed, "poll-kill")
	expectGone(t, srv.URL, inst, id, "poll-del")

	// A viewer opening the deleted block gets its tombstone, then the
	// block created again under the same business id: above it.
	v2 := connectViewer(t, srv.URL, inst, "u2", "d2", id)
	if b := v2.nextState(t); !b.Deleted || b.Version != 3 {
		t.Fatalf("a viewer of the deleted block got %+v", b)
	}
	if st, a := blockAPI(t, srv.URL, inst, http.MethodPost, "/open-apis/block/v2/entities",
		map[string]any{"block_type_id": "t", "source_data": "{}", "business_id": "poll-del", "version": "3"}); st != http.StatusConflict || a.Code != 1770003 {
		t.Fatalf("created again at the tombstone's version: HTTP %d %+v", st, a)
	}
	again := createBlock(t, srv.URL, inst, map[string]any{"business_id": "poll-del", "source_data": `{"round":2}`})
	if again != id {
		t.Fatalf("created again as %s, want %s", again, id)
	}
	if b := v2.nextState(t); b.Deleted || b.Version != 4 || b.SourceData != `{"round":2}` {
		t.Fatalf("the viewer got %+v after the re-creation", b)
	}
}

// expectGone checks that every request for a deleted block answers
// 1770002 saying so.
func expectGone(t *testing.T, base, inst, id, businessID string) {
	t.Helper()
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/open-apis/block/v2/entities/" + id, nil},
		{http.MethodGet, "/open-apis/block/v2/entities?business_id=" + businessID, nil},
		{http.MethodPut, "/open-apis/block/v2/entities/" + id, map[string]any{"source_data": "{}"}},
		{http.MethodDelete, "/open-apis/block/v2/entities/" + id, nil},
		{http.MethodPost, "/open-apis/block/v2/message", map[string]any{"block_id": id, "open_ids": []string{"u"}, "body": "x"}},
	} {
		st, a := blockAPI(t, base, inst, c.method, c.path, c.body)
		if st != http.StatusNotFound || a.Code != 1770002 || !strings.Contains(a.Msg, "deleted") {
			t.Errorf("%s %s after the deletion: HTTP %d code %d %q", c.method, c.path, st, a.Code, a.Msg)
		}
	}
}
