package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// kill -9 while pushes are in flight: after a restart every push that was
// answered SUCCESS is delivered (lost = acknowledged − read is empty),
// nothing is delivered that was never sent, and each writer's entries
// arrive in the order it pushed them.
func TestKill9DuringPushesLosesNothingAcknowledged(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServer(t, dataDir)
	const inst, biz, user = "ws_INFLIGHT", "EVENTS", "u1"
	putBizType(t, srv.URL, inst, biz, map[string]any{"target": "user"})

	const writers, killAfter = 8, 400
	var mu sync.Mutex
	acked := map[string]bool{}
	attempted := map[string]bool{}
	enough := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	httpc := &http.Client{Timeout: 10 * time.Second}
	key := apiKey(t, srv.URL, inst)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%06d", w, i)
				body, _ := json.Marshal(map[string]string{"bizType": biz, "linkToken": user, "thirdMsgId": id, "payload": id})
				mu.Lock()
				attempted[id] = true
				mu.Unlock()
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webapi/sync/single?instanceId="+inst, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Opsync-Api-Key", key)
				resp, err := httpc.Do(req)
				if err != nil {
					return // the server is gone
				}
				var a pushAnswer
				err = json.NewDecoder(resp.Body).Decode(&a)
				resp.Body.Close()
				if err != nil {
					return
				}
				if a.Msg != "SUCCESS" {
					t.Errorf("push %s: %+v", id, a)
					return
				}
				mu.Lock()
				acked[id] = true
				n := len(acked)
				mu.Unlock()
				if n >= killAfter {
					once.Do(func() { close(enough) })
				}
			}
		}(w)
	}
	select {
	case <-enough:
	case <-time.After(time.Minute):
		t.Fatal("pushes did not reach the kill point")
	}
	srv.kill9()
	wg.Wait()
	if t.Failed() {
		return
	}

	srv2 := startServer(t, dataDir)
	// Count what the journal holds through a fresh client, ending with a
	// sentinel pushed after the restart.
	mu.Lock()
	nAcked, nAttempted := len(acked), len(attempted)
	mu.Unlock()
	// The journal holds at least the acknowledged pushes and at most the
	// attempted ones; read until the sentinel.
	tail := startTail(t, srv2.URL, inst, "--user", user, "--device", "fresh", "--biz", biz)
	st, a := push(t, srv2.URL, inst, map[string]any{"bizType": biz, "linkToken": user, "thirdMsgId": "sentinel", "payload": "end"})
	if st != 200 || a.Msg != "SUCCESS" {
		t.Fatalf("push after restart: %d %+v", st, a)
	}
	read := map[string]bool{}
	lastByWriter := map[string]string{}
	deadline := time.After(time.Minute)
	for done := false; !done; {
		select {
		case l, ok := <-tail.lines:
			if !ok {
				t.Fatalf("tail ended before the sentinel:\n%s", tail.stderr.String())
			}
			if l.ThirdMsgID == "sentinel" {
				done = true
				break
			}
			if read[l.ThirdMsgID] {
				t.Fatalf("%s delivered twice", l.ThirdMsgID)
			}
			read[l.ThirdMsgID] = true
			if !attempted[l.ThirdMsgID] || l.Payload != l.ThirdMsgID {
				t.Fatalf("delivered %+v, which was never sent", l)
			}
			w := l.ThirdMsgID[:2]
			if prev := lastByWriter[w]; prev >= l.ThirdMsgID {
				t.Fatalf("writer %s: %s delivered after %s", w, l.ThirdMsgID, prev)
			}
			lastByWriter[w] = l.ThirdMsgID
		case <-deadline:
			t.Fatalf("sentinel not delivered; read %d", len(read))
		}
	}
	var lost []string
	for id := range acked {
		if !read[id] {
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 {
		t.Fatalf("%d acknowledged pushes lost, e.g. %v", len(lost), lost[:min(5, len(lost))])
	}
	t.Logf("acknowledged %d, attempted %d, read back %d (recovered unacknowledged: %d)", nAcked, nAttempted, len(read), len(read)-nAcked)
}
