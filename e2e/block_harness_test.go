package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/opsync/opsync/client"
)

// Helpers of the block tests: the block API as a backend calls it (its
// instance's API key as the bearer), and Go clients viewing blocks.

// blockAnswer is the block API's envelope.
type blockAnswer struct {
	Code int             `json:"code"`
	Msg  string          `json:"msg"`
	Data json.RawMessage `json:"data"`
}

// blockEntityJSON is an entity as the API answers it.
type blockEntityJSON struct {
	BlockID    string `json:"block_id"`
	Title      string `json:"title"`
	SourceData string `json:"source_data"`
	Version    string `json:"version"`
	BusinessID string `json:"business_id"`
}

// blockRecords is the admin API's records view of a block.
type blockRecords struct {
	Block struct {
		BlockID    string `json:"blockId"`
		BusinessID string `json:"businessId"`
		Title      string `json:"title"`
		Version    string `json:"version"`
		UpdatedAt  int64  `json:"updatedAt"`
	} `json:"block"`
	Viewers struct {
		Total  int            `json:"total"`
		ByNode map[string]int `json:"byNode"`
	} `json:"viewers"`
}

// blockAPI calls the block API with the instance's API key.
func blockAPI(t *testing.T, base, instance, method, path string, body any) (int, blockAnswer) {
	t.Helper()
	ensureInstance(t, base, instance)
	return blockAPIWith(t, method, base+path, body, http.Header{"Authorization": {"Bearer " + apiKey(t, base, instance)}})
}

// blockAPIWith calls the block API with exactly the headers hdr.
func blockAPIWith(t *testing.T, method, u string, body any, hdr http.Header) (int, blockAnswer) {
	t.Helper()
	var a blockAnswer
	st := callWith(t, method, u, body, &a, hdr)
	return st, a
}

// entityOf decodes data.entity of a successful answer.
func entityOf(t *testing.T, st int, a blockAnswer) blockEntityJSON {
	t.Helper()
	if st != http.StatusOK || a.Code != 0 {
		t.Fatalf("block API: HTTP %d code %d %s", st, a.Code, a.Msg)
	}
	var d struct {
		Entity blockEntityJSON `json:"entity"`
	}
	if err := json.Unmarshal(a.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d.Entity
}

// createBlock creates a block with source_data data and answers its id.
func createBlock(t *testing.T, base, instance string, extra map[string]any) string {
	t.Helper()
	body := map[string]any{"title": "poll", "block_type_id": "blk_type_poll", "source_data": `{"votes":0}`, "source_meta": "{}"}
	for k, v := range extra {
		body[k] = v
	}
	st, a := blockAPI(t, base, instance, http.MethodPost, "/open-apis/block/v2/entities", body)
	return entityOf(t, st, a).BlockID
}

// updateBlock sends a new version (version "" : the server assigns it).
func updateBlock(t *testing.T, base, instance, blockID, data, version string) (int, blockAnswer) {
	t.Helper()
	ensureInstance(t, base, instance)
	st, a, err := tryUpdateBlock(t, base, instance, blockID, data, version)
	if err != nil {
		t.Fatal(err)
	}
	return st, a
}

// tryUpdateBlock is updateBlock answering its failure, for goroutines
// other than the test's (ensureInstance first, from the test's goroutine).
func tryUpdateBlock(t *testing.T, base, instance, blockID, data, version string) (int, blockAnswer, error) {
	body := map[string]any{"block_type_id": "blk_type_poll", "source_data": data, "source_meta": "{}"}
	if version != "" {
		body["version"] = version
	}
	var a blockAnswer
	st, err := tryCall(t, http.MethodPut, base+"/open-apis/block/v2/entities/"+blockID, body, &a,
		http.Header{"Authorization": {"Bearer " + apiKey(t, base, instance)}})
	return st, a, err
}

// viewer is a Go client that has blocks open, collecting what it receives.
type viewer struct {
	*client.Client
	states chan client.Block
	typed  chan client.TypedMessage
}

// connectViewer connects a client of user (device) and opens blocks.
func connectViewer(t *testing.T, base, instance, user, device string, blocks ...string) *viewer {
	t.Helper()
	ensureInstance(t, base, instance)
	v, err := dialViewer(t, base, instance, user, device, blocks...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// dialViewer is connectViewer answering its failure, for goroutines other
// than the test's (ensureInstance first, from the test's goroutine).
func dialViewer(t *testing.T, base, instance, user, device string, blocks ...string) (*viewer, error) {
	up := make(chan struct{})
	var once sync.Once
	c, err := client.New(client.Options{Server: base, InstanceID: instance, DeviceID: device, MinBackoff: 20 * time.Millisecond,
		OnStateChange: func(connected bool) {
			if connected {
				once.Do(func() { close(up) })
			}
		}})
	if err != nil {
		return nil, err
	}
	v := &viewer{Client: c, states: make(chan client.Block, 4096), typed: make(chan client.TypedMessage, 256)}
	c.OnResourceChange(func(b client.Block) { v.states <- b })
	c.OnTypedMessage(func(m client.TypedMessage) { v.typed <- m })
	for _, b := range blocks {
		if err := c.OpenBlock(b); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := tryOnline(t, c, user, up); err != nil {
		return nil, err
	}
	return v, nil
}

// viewerSpec names the node, user and device of one viewer.
type viewerSpec struct{ base, user, device string }

// connectViewers connects the viewers of specs concurrently, each opening
// blocks; the first failure fails the test, from the test's goroutine.
func connectViewers(t *testing.T, instance string, specs []viewerSpec, blocks ...string) []*viewer {
	t.Helper()
	for _, s := range specs {
		ensureInstance(t, s.base, instance)
	}
	vs := make([]*viewer, len(specs))
	var g errgroup.Group
	g.SetLimit(64)
	for i, s := range specs {
		g.Go(func() (err error) {
			vs[i], err = dialViewer(t, s.base, instance, s.user, s.device, blocks...)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return vs
}

// nextState is the next block version the viewer received.
func (v *viewer) nextState(t *testing.T) client.Block {
	t.Helper()
	select {
	case b := <-v.states:
		return b
	case <-time.After(30 * time.Second):
		t.Fatalf("viewer %s: no block version within 30 s", v.SyncDeviceID())
		return client.Block{}
	}
}

// nextTyped is the next typed message the viewer received.
func (v *viewer) nextTyped(t *testing.T) client.TypedMessage {
	t.Helper()
	select {
	case m := <-v.typed:
		return m
	case <-time.After(30 * time.Second):
		t.Fatalf("viewer %s: no typed message within 30 s", v.SyncDeviceID())
		return client.TypedMessage{}
	}
}

// sendTyped sends a typed message and answers the devices it reached.
func sendTyped(t *testing.T, base, instance, blockID string, users []string, typ, body, version string) int {
	t.Helper()
	st, a := blockAPI(t, base, instance, http.MethodPost, "/open-apis/block/v2/message",
		map[string]any{"block_id": blockID, "open_ids": users, "type": typ, "body": body, "version": version, "resource": "poll"})
	if st != http.StatusOK || a.Code != 0 {
		t.Fatalf("typed message: HTTP %d code %d %s", st, a.Code, a.Msg)
	}
	var d struct {
		Devices int `json:"devices"`
	}
	if err := json.Unmarshal(a.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d.Devices
}

// versionString is a version as the API writes it.
func versionString(v uint64) string { return fmt.Sprint(v) }
