package node

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestThrottlePassesOneOfAKindPerInterval(t *testing.T) {
	var buf bytes.Buffer
	h := newThrottle(slog.NewJSONHandler(&buf, nil), 10*time.Second)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	log := func(offset time.Duration, msg string) {
		r := slog.NewRecord(at.Add(offset), slog.LevelError, msg, 0)
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	heartbeat := "raft: failed to heartbeat to: peer=127.0.0.1:"
	log(0, heartbeat+"1001 backoff time=10ms")
	log(time.Second, heartbeat+"1001 backoff time=20ms") // same kind: held back
	log(2*time.Second, "another message entirely")
	log(3*time.Second, heartbeat+"1001 backoff time=40ms") // held back
	log(11*time.Second, heartbeat+"1001 backoff time=80ms")

	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		got = append(got, m)
	}
	if len(got) != 3 {
		t.Fatalf("passed %d records, want 3: %s", len(got), buf.String())
	}
	if got[1]["msg"] != "another message entirely" {
		t.Fatalf("second record %v", got[1])
	}
	if got[2]["similarHeldBack"] != float64(2) || !strings.HasSuffix(got[2]["msg"].(string), "80ms") {
		t.Fatalf("third record %v, want the 80ms one with similarHeldBack 2", got[2])
	}
}
