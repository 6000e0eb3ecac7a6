package e2e

import (
	"fmt"
	"net/http"
	"testing"
)

// In a 3-node set, viewers on every node see exactly the same sequence of
// versions for 200 updates from 4 concurrent updaters sent to all nodes.
func TestBlockViewersOnEveryNodeOfASet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	set := newNodeSet(t, 3, loopbackLayout(t, 3))
	const inst, perNode, updates = "ws_BLOCKSET", 30, 200
	ensureInstance(t, set.url(0), inst)
	key := apiKey(t, set.url(0), inst)
	urls := []string{set.url(0), set.url(1), set.url(2)}
	for _, u := range urls[1:] {
		apiKeys.Store(u+"|"+inst, key) // the same instance, whichever node is asked
	}
	id := createBlock(t, urls[0], inst, nil)
	var specs []viewerSpec
	for n, u := range urls {
		for i := range perNode {
			specs = append(specs, viewerSpec{u, fmt.Sprintf("u%d", i), fmt.Sprintf("n%dd%d", n, i)})
		}
	}
	vs := connectViewers(t, inst, specs, id)
	for _, v := range vs {
		expectVersions(t, v, 1, 1)
	}
	// The records view counts them per node, from any node.
	for _, u := range urls {
		var rec blockRecords
		if st := call(t, http.MethodGet, u+"/api/v1/instances/"+inst+"/blocks/"+id, nil, &rec); st != http.StatusOK {
			t.Fatalf("records view: HTTP %d", st)
		}
		if rec.Viewers.Total != 3*perNode || len(rec.Viewers.ByNode) != 3 || rec.Block.Version != "1" {
			t.Fatalf("records view from %s: %+v", u, rec)
		}
		for node, n := range rec.Viewers.ByNode {
			if n != perNode {
				t.Fatalf("records view: %d viewers on %s, want %d", n, node, perNode)
			}
		}
	}
	runUpdaters(t, urls, inst, id, 4, updates, nil)
	for _, v := range vs {
		expectVersions(t, v, 2, updates+1)
	}
}
