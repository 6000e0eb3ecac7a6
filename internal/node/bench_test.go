package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsync/opsync/client"
	"github.com/opsync/opsync/internal/node"
)

// BenchmarkPushToDelivery measures durable single pushes over HTTP until
// the connected client's callback sees them: throughput and push →
// delivery latency percentiles. Callers push to users of which one has a
// connected client per caller.
func BenchmarkPushToDelivery(b *testing.B) {
	for _, callers := range []int{1, 16} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) { benchPushToDelivery(b, callers) })
	}
}

func benchPushToDelivery(b *testing.B, callers int) {
	n, err := node.Start(context.Background(), node.Config{DataDir: b.TempDir(), HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	const inst, biz = "bench_APP", "BENCH"
	req, _ := http.NewRequest(http.MethodPost, n.HTTPURL()+"/api/v1/instances", bytes.NewReader([]byte(`{"instanceId":"`+inst+`"}`)))
	req.Header.Set("Authorization", "Bearer "+n.AdminToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		b.Fatalf("create instance: %v %v", err, resp)
	}
	var created struct {
		Instance struct {
			APIKey string `json:"apiKey"`
		} `json:"instance"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodPut, n.HTTPURL()+"/api/v1/instances/"+inst+"/biztypes/"+biz, bytes.NewReader([]byte(`{"target":"user"}`)))
	req.Header.Set("Authorization", "Bearer "+n.AdminToken())
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		b.Fatalf("create bizType: %v %v", err, resp)
	}

	// sentAt[msgID] is when the push left; the callbacks record latency.
	var sentAt sync.Map
	var mu sync.Mutex
	var lats []time.Duration
	var delivered atomic.Int64
	allDone := make(chan struct{})
	var total int64
	for c := 0; c < callers; c++ {
		connected := make(chan struct{})
		var once sync.Once
		cl, err := client.New(client.Options{Server: n.HTTPURL(), InstanceID: inst, DeviceID: fmt.Sprintf("dev-%d", c),
			OnStateChange: func(up bool) {
				if up {
					once.Do(func() { close(connected) })
				}
			}})
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		cl2 := cl
		if err := cl.RegisterBiz(biz, func(m client.Message) {
			if t0, ok := sentAt.Load(m.ThirdMsgID); ok {
				mu.Lock()
				lats = append(lats, time.Since(t0.(time.Time)))
				mu.Unlock()
			}
			_ = cl2.ReportMsgReceived(m)
			if delivered.Add(1) == atomic.LoadInt64(&total) {
				close(allDone)
			}
		}); err != nil {
			b.Fatal(err)
		}
		if err := cl.UpdateUserInfo(fmt.Sprintf("user-%d", c), "s"); err != nil {
			b.Fatal(err)
		}
		if err := cl.AppToForeground(); err != nil {
			b.Fatal(err)
		}
		select {
		case <-connected:
		case <-time.After(10 * time.Second):
			b.Fatal("client did not connect")
		}
	}

	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: callers}}
	atomic.StoreInt64(&total, int64(b.N))
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				id := fmt.Sprintf("m%d", i)
				body, _ := json.Marshal(map[string]string{"bizType": biz, "linkToken": fmt.Sprintf("user-%d", c), "thirdMsgId": id, "payload": "0123456789012345678901234567890123456789"})
				sentAt.Store(id, time.Now())
				req, _ := http.NewRequest(http.MethodPost, n.HTTPURL()+"/webapi/sync/single?instanceId="+inst, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Opsync-Api-Key", created.Instance.APIKey)
				resp, err := httpc.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				var a struct{ Msg string }
				json.NewDecoder(resp.Body).Decode(&a)
				resp.Body.Close()
				if a.Msg != "SUCCESS" {
					b.Errorf("push: %s", a.Msg)
					return
				}
			}
		}(c)
	}
	wg.Wait()
	select {
	case <-allDone:
	case <-time.After(time.Minute):
		b.Fatalf("only %d of %d delivered", delivered.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	pct := func(q float64) float64 { return float64(lats[int(q*float64(len(lats)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pushes/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(0.999), "p99.9-ms")
}
