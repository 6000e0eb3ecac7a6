package client_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/opsync/opsync/client"
	"github.com/opsync/opsync/internal/node"
)

// blockClient is a client of user u that has block open, with what its
// block callbacks received.
type blockClient struct {
	*client.Client
	states chan client.Block
	typed  chan client.TypedMessage
}

func openBlockClient(t *testing.T, n *node.Node, user, block string) *blockClient {
	t.Helper()
	c, err := client.New(client.Options{Server: n.HTTPURL(), InstanceID: inst, MinBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	bc := &blockClient{Client: c, states: make(chan client.Block, 64), typed: make(chan client.TypedMessage, 64)}
	c.OnResourceChange(func(b client.Block) { bc.states <- b })
	c.OnTypedMessage(func(m client.TypedMessage) { bc.typed <- m })
	if err := c.OpenBlock(block); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateUserInfo(user, "s"); err != nil {
		t.Fatal(err)
	}
	if err := c.AppToForeground(); err != nil {
		t.Fatal(err)
	}
	return bc
}

func awaitChan[T any](t *testing.T, ch chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitFor):
		t.Fatal("nothing received")
		var zero T
		return zero
	}
}

// blockKeys holds the API key each test's instance was given, by node
// URL: the admin API shows a key only when it makes one.
var blockKeys sync.Map

// blockKey creates the instance and makes it a new API key (rotate).
func blockKey(t *testing.T, n *node.Node) string {
	t.Helper()
	if k, ok := blockKeys.Load(n.HTTPURL()); ok {
		return k.(string)
	}
	apiKeyOf(t, n)
	var ans struct {
		Instance struct {
			APIKey string `json:"apiKey"`
		} `json:"instance"`
	}
	httpJSON(t, http.MethodPost, n.HTTPURL()+"/api/v1/instances/"+inst+"/keys/rotate", nil, &ans)
	if ans.Instance.APIKey == "" {
		t.Fatal("the key rotation answered no apiKey")
	}
	blockKeys.Store(n.HTTPURL(), ans.Instance.APIKey)
	return ans.Instance.APIKey
}

// blockCall calls the block API with the instance's API key.
func blockCall(t *testing.T, n *node.Node, method, path string, body any) map[string]any {
	t.Helper()
	var out map[string]any
	httpJSON(t, method, n.HTTPURL()+path, body, &out, "Authorization", "Bearer "+blockKey(t, n))
	return out
}

// A typed message whose version is lower than the last one the library
// passed on for that block is dropped; an equal or higher one passes.
func TestTypedMessageOfLowerVersionIsDropped(t *testing.T) {
	n := newNode(t)
	created := blockCall(t, n, http.MethodPost, "/open-apis/block/v2/entities", map[string]any{"block_type_id": "t", "source_data": "{}"})
	id := created["data"].(map[string]any)["entity"].(map[string]any)["block_id"].(string)
	c := openBlockClient(t, n, "alice", id)
	if b := awaitChan(t, c.states); b.Version != 1 {
		t.Fatalf("opened: version %d", b.Version)
	}
	for _, v := range []int{5, 3, 5, 7} {
		blockCall(t, n, http.MethodPost, "/open-apis/block/v2/message", map[string]any{"block_id": id, "open_ids": []string{"alice"},
			"type": "t", "body": fmt.Sprint(v), "version": fmt.Sprint(v)})
	}
	for _, want := range []uint64{5, 5, 7} {
		if m := awaitChan(t, c.typed); m.Version != want {
			t.Fatalf("typed message version %d passed on, want %d (3 comes after 5: dropped)", m.Version, want)
		}
	}
}

// After a reconnect (the node restarted) the client opens its blocks
// again: it receives the versions made while it was away, and not the one
// it had again.
func TestOpenBlocksAreReopenedAfterAReconnect(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, "127.0.0.1:0")
	addr := n.HTTPAddr()
	created := blockCall(t, n, http.MethodPost, "/open-apis/block/v2/entities", map[string]any{"block_type_id": "t", "source_data": "{}"})
	id := created["data"].(map[string]any)["entity"].(map[string]any)["block_id"].(string)
	c := openBlockClient(t, n, "bob", id)
	awaitChan(t, c.states)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = startNode(t, dir, addr)
	t.Cleanup(func() { n.Close() })
	blockCall(t, n, http.MethodPut, "/open-apis/block/v2/entities/"+id, map[string]any{"source_data": `{"v":2}`})
	if b := awaitChan(t, c.states); b.Version != 2 || b.SourceData != `{"v":2}` {
		t.Fatalf("after the reconnect: version %d %s, want 2", b.Version, b.SourceData)
	}
}
