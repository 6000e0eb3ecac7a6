package e2e

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// sent is what a caller pushed and what the server answered.
type sent struct {
	writer, n int
	payload   string
	binary    []byte
	oplogID   uint64
}

// 1,000 pushes to one user from 8 concurrent HTTP callers reach a tailing
// client exactly once each, in strictly increasing oplog order, text and
// binary payloads intact.
func TestConcurrentPushesReachTailExactlyOnce(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const instance, biz, user = "ws1_APP1", "CHAT-MSG", "user-1"
	putBizType(t, srv.URL, instance, biz, map[string]any{"target": "user"})

	const writers, perWriter = 8, 125
	tail := startTail(t, srv.URL, instance, "--user", user, "--biz", biz,
		"--state", filepath.Join(t.TempDir(), "state.json"), "--count", fmt.Sprint(writers*perWriter))

	var mu sync.Mutex
	byMsgID := map[string]*sent{}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var last uint64
			for i := 0; i < perWriter; i++ {
				s := &sent{writer: w, n: i}
				body := map[string]any{"bizType": biz, "linkToken": user, "thirdMsgId": fmt.Sprintf("w%d-%d", w, i)}
				if i%2 == 0 {
					s.payload = fmt.Sprintf(`{"w":%d,"i":%d,"text":"héllo 世界 \"quoted\""}`, w, i)
					body["payload"] = s.payload
				} else {
					s.binary = make([]byte, 1+rng.IntN(3000))
					for j := range s.binary {
						s.binary[j] = byte(rng.IntN(256))
					}
					body["binaryPayload"] = base64.StdEncoding.EncodeToString(s.binary)
				}
				st, ans := push(t, srv.URL, instance, body)
				if st != 200 || !ans.Success || ans.Msg != "SUCCESS" || ans.OplogID == 0 {
					t.Errorf("push w%d-%d: %d %+v", w, i, st, ans)
					return
				}
				// One caller's pushes are sequential, so their ids increase.
				if ans.OplogID <= last {
					t.Errorf("push w%d-%d: oplog id %d after %d", w, i, ans.OplogID, last)
				}
				last = ans.OplogID
				s.oplogID = ans.OplogID
				mu.Lock()
				byMsgID[fmt.Sprintf("w%d-%d", w, i)] = s
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	lines := tail.collect(t, 2*time.Minute)
	if len(lines) != writers*perWriter {
		t.Fatalf("tail printed %d lines, want %d", len(lines), writers*perWriter)
	}
	seen := map[string]bool{}
	var prev uint64
	for i, l := range lines {
		if l.OplogID <= prev {
			t.Fatalf("line %d: oplog id %d after %d: not strictly increasing", i, l.OplogID, prev)
		}
		prev = l.OplogID
		if seen[l.ThirdMsgID] {
			t.Fatalf("line %d: %s delivered twice", i, l.ThirdMsgID)
		}
		seen[l.ThirdMsgID] = true
		s, ok := byMsgID[l.ThirdMsgID]
		switch {
		case !ok:
			t.Fatalf("line %d: %q was never pushed", i, l.ThirdMsgID)
		case l.BizType != biz:
			t.Fatalf("line %d: bizType %q", i, l.BizType)
		case l.OplogID != s.oplogID:
			t.Fatalf("line %d: %s has oplog id %d, the push answered %d", i, l.ThirdMsgID, l.OplogID, s.oplogID)
		case s.binary == nil && (l.Payload != s.payload || l.BinaryPayload != ""):
			t.Fatalf("line %d: text payload %q, pushed %q", i, l.Payload, s.payload)
		case s.binary != nil && (l.BinaryPayload != base64.StdEncoding.EncodeToString(s.binary) || l.Payload != ""):
			t.Fatalf("line %d: binary payload differs from what was pushed", i)
		}
	}
}
