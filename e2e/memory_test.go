package e2e

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A connection's memory is bounded by its window, not by its backlog:
// clients that never read a backlog of thousands of 4 KB entries cost the
// node their window each, whatever the backlog, and nothing once gone.

// memWindowBytes is the window of the memory tests' nodes.
const memWindowBytes = 256 << 10

// memServer starts a node with memWindowBytes windows whose heap a test
// reads: GOGC=20 keeps garbage a small part of go_memstats_heap_inuse_bytes.
func memServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	return startServerEnv(t, dataDir, append(os.Environ(), "GOGC=20"), append([]string{"--client-window-bytes", "256KiB"}, extra...)...)
}

// liveHeap is the node's heap in use, the lowest of a few readings over a
// second: what the node holds, without most of its passing garbage.
func liveHeap(t *testing.T, base string) float64 {
	t.Helper()
	low := math.Inf(1)
	for i := range 5 {
		if i > 0 {
			time.Sleep(200 * time.Millisecond) // sampling, not waiting for an event
		}
		low = min(low, metricValue(t, base, "go_memstats_heap_inuse_bytes"))
	}
	return low
}

// pushBacklog stores n entries of payload bytes for linkToken (a user's
// stream through the batch API) or, with linkToken "", in the global
// bizType's stream (single global pushes, several at once); msgIDs name
// them in push order.
func pushBacklog(t *testing.T, base, inst, biz, linkToken string, n, payload int) {
	t.Helper()
	text := strings.Repeat("x", payload)
	if linkToken != "" {
		for first := 0; first < n; first += 1000 {
			var items []map[string]any
			for i := first; i < min(n, first+1000); i++ {
				items = append(items, map[string]any{"bizType": biz, "linkToken": linkToken, "thirdMsgId": fmt.Sprintf("m%04d", i), "payload": text})
			}
			var a batchAnswer
			if st := call(t, http.MethodPost, base+"/webapi/sync/batch?instanceId="+inst, map[string]any{"items": items}, &a); st != 200 || !a.Success {
				t.Fatalf("batch push: %d %+v", st, a.Msg)
			}
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var a pushAnswer
				body := map[string]any{"bizType": biz, "thirdMsgId": fmt.Sprintf("m%04d", i), "payload": text}
				if st := call(t, http.MethodPost, base+"/webapi/sync/global?instanceId="+inst, body, &a); st != 200 || a.Msg != "SUCCESS" {
					t.Errorf("global push %d: %d %+v", i, st, a)
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// Clients that never read a large backlog (the devices of one user, or
// token-less clients of a global bizType) each cost the node about their
// window, and connecting them again and again does not add up.
func TestNeverReadingClientsHoldOnlyTheirWindow(t *testing.T) {
	const clients, backlog, payload, rounds = 20, 1500, 4000, 3
	cases := []struct {
		name   string
		global bool
	}{
		{name: "the devices of one user"},
		{name: "the clients of a global bizType", global: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := memServer(t, t.TempDir())
			const inst = "ws_MEM"
			biz, user := "FEED", "u"
			if c.global {
				biz, user = "NEWS", ""
				putBizType(t, srv.URL, inst, biz, map[string]any{"scope": "global"})
			} else {
				putBizType(t, srv.URL, inst, biz, map[string]any{"target": "user", "multiDevice": true})
			}
			pushBacklog(t, srv.URL, inst, biz, user, backlog, payload)
			base := liveHeap(t, srv.URL)
			for round := range rounds {
				delivered := metricValue(t, srv.URL, "opsync_deliveries_total")
				var conns []*wireConn
				for i := range clients {
					connect := &opsyncpb.Connect{InstanceId: inst, UserId: user, DeviceId: fmt.Sprintf("d%d", i),
						BizTypes: []*opsyncpb.SyncPoint{{BizType: biz}}}
					if c.global {
						connect.UserId = fmt.Sprintf("u%d", i)
					}
					conns = append(conns, dialWire(t, srv.URL, connect)) // and never reads again
				}
				// Every client got a window's worth (32 entries at least
				// with the window shared by two streams): all the node
				// does for a client that does not read.
				waitFor(t, "the clients' windows delivered", time.Minute, func() bool {
					return metricValue(t, srv.URL, "opsync_deliveries_total")-delivered >= clients*32
				})
				growth := liveHeap(t, srv.URL) - base
				t.Logf("round %d: heap grew by %.1f MiB for %d clients (backlog %.1f MiB each)", round, growth/(1<<20), clients, float64(backlog*payload)/(1<<20))
				if limit := float64(clients * 4 * memWindowBytes); growth > limit {
					t.Fatalf("round %d: the heap grew by %.1f MiB for %d clients that never read, more than 4 windows each (%.1f MiB)", round, growth/(1<<20), clients, limit/(1<<20))
				}
				if held := metricValue(t, srv.URL, "opsync_send_queue_bytes"); held <= 0 || held > clients*memWindowBytes {
					t.Fatalf("round %d: opsync_send_queue_bytes %v, want at most a window per client (%d)", round, held, clients*memWindowBytes)
				}
				for _, c := range conns {
					c.ws.CloseNow()
				}
				waitFor(t, "the connections gone", time.Minute, func() bool {
					return metricValue(t, srv.URL, "opsync_connected_clients") == 0 && metricValue(t, srv.URL, "opsync_send_queue_bytes") == 0
				})
			}
		})
	}
}
