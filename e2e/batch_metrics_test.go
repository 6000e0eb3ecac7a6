package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricValue reads one sample from /metrics ("name" or `name{label="v"}`).
func metricValue(t *testing.T, base, sample string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, sample+" ") {
			v, err := strconv.ParseFloat(strings.TrimPrefix(line, sample+" "), 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return v
		}
	}
	return 0
}

type batchAnswer struct {
	Success bool         `json:"success"`
	Msg     string       `json:"msg"`
	Results []pushAnswer `json:"results"`
}

// A batch push answers every item in order with the single push's codes,
// writes each stream's items in one journal append, and counts them in
// /metrics.
func TestBatchPushAndMetrics(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_BATCH"
	putBizType(t, srv.URL, inst, "FEED", map[string]any{})
	var ready map[string]any
	if st := call(t, http.MethodGet, srv.URL+"/readyz", nil, &ready); st != 200 || ready["ready"] != true {
		t.Fatalf("readyz: %d %v", st, ready)
	}

	appendsBefore := metricValue(t, srv.URL, "opsync_journal_append_seconds_count")
	successBefore := metricValue(t, srv.URL, `opsync_pushes_total{code="SUCCESS"}`)

	var items []map[string]any
	want := map[int]string{}
	for i := 0; i < 500; i++ {
		items = append(items, map[string]any{"bizType": "FEED", "linkToken": "alice", "thirdMsgId": fmt.Sprint("a", i), "payload": fmt.Sprint(i)})
		want[len(items)-1] = "SUCCESS"
	}
	for i := 0; i < 50; i++ {
		items = append(items, map[string]any{"bizType": "FEED", "linkToken": "bob", "thirdMsgId": fmt.Sprint("b", i), "payload": fmt.Sprint(i)})
		want[len(items)-1] = "SUCCESS"
	}
	for code, it := range map[string]map[string]any{
		"DUPLICATED_BIZ_ID":  {"bizType": "FEED", "linkToken": "alice", "thirdMsgId": "a7", "payload": "again"},
		"THIRDMSGID_IS_NULL": {"bizType": "FEED", "linkToken": "alice", "payload": "x"},
		"BIZ_NOT_ONLINE":     {"bizType": "NOPE", "linkToken": "alice", "thirdMsgId": "z", "payload": "x"},
		"PAYLOAD_LONG":       {"bizType": "FEED", "linkToken": "alice", "thirdMsgId": "long", "payload": strings.Repeat("x", 4097)},
	} {
		items = append(items, it)
		want[len(items)-1] = code
	}
	var a batchAnswer
	if st := call(t, http.MethodPost, srv.URL+"/webapi/sync/batch?instanceId="+inst, map[string]any{"items": items}, &a); st != 200 || !a.Success || len(a.Results) != len(items) {
		t.Fatalf("batch: %d success=%v msg=%s results=%d", st, a.Success, a.Msg, len(a.Results))
	}
	var lastAlice uint64
	for i, r := range a.Results {
		if r.Msg != want[i] {
			t.Fatalf("item %d answered %+v, want %s", i, r, want[i])
		}
		if i < 500 {
			if r.OplogID <= lastAlice {
				t.Fatalf("item %d: oplog id %d after %d", i, r.OplogID, lastAlice)
			}
			lastAlice = r.OplogID
		}
	}
	for i, r := range a.Results {
		if r.Msg == "DUPLICATED_BIZ_ID" && r.OplogID != a.Results[7].OplogID {
			t.Fatalf("the repeat (item %d) answered oplog id %d, the first push %d", i, r.OplogID, a.Results[7].OplogID)
		}
	}
	// Two streams: two appends (one fsync each), and 550 successes counted.
	if d := metricValue(t, srv.URL, "opsync_journal_append_seconds_count") - appendsBefore; d != 2 {
		t.Fatalf("the batch took %v journal appends, want 2 (one per stream)", d)
	}
	if d := metricValue(t, srv.URL, `opsync_pushes_total{code="SUCCESS"}`) - successBefore; d != 550 {
		t.Fatalf("opsync_pushes_total{SUCCESS} rose by %v, want 550", d)
	}

	lines := startTail(t, srv.URL, inst, "--user", "alice", "--biz", "FEED", "--count", "500").collect(t, time.Minute)
	for i, l := range lines {
		if l.ThirdMsgID != fmt.Sprint("a", i) || l.Payload != fmt.Sprint(i) {
			t.Fatalf("alice's entry %d = %+v", i, l)
		}
	}
	if d := metricValue(t, srv.URL, "opsync_deliveries_total"); d < 500 {
		t.Fatalf("opsync_deliveries_total = %v after 500 deliveries", d)
	}

	var bad batchAnswer
	if st := call(t, http.MethodPost, srv.URL+"/webapi/sync/batch?instanceId="+inst, `{"items":[`, &bad); st != 200 || bad.Msg != "ARGS_INVALID" {
		t.Fatalf("malformed batch: %d %+v", st, bad)
	}
	if st := call(t, http.MethodPost, srv.URL+"/webapi/sync/batch?instanceId=ws_NONE", map[string]any{"items": items[:1]}, &bad); st != 200 || bad.Msg != "INSTANCE_NOT_FOUND" {
		t.Fatalf("batch to an unknown instance: %d %+v", st, bad)
	}
}
