package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const benchSynopsis = `opsync bench push --server URL --instance ID [flags]

  push   durable single pushes over HTTP from C concurrent callers; prints
         one JSON report: pushes/s and ack latency p50 / p99 / p99.9`

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench", benchSynopsis, stdout, stderr)
	verb, rest, code := splitVerb(fs, args, stdout)
	if code >= 0 {
		return code
	}
	if verb != "push" {
		return usageError(stderr, fs, "unknown scenario %q (push)", verb)
	}
	server := serverFlag(fs)
	instance := fs.String("instance", "bench_APP", "instance id")
	biz := fs.String("biz", "BENCH", "bizType (created as a user-target config if missing)")
	total := fs.Int("count", 20000, "pushes in all")
	conc := fs.Int("concurrency", 64, "concurrent callers")
	users := fs.Int("users", 1000, "distinct users (streams) the pushes spread over")
	size := fs.Int("payload-size", 200, "payload bytes")
	progress := fs.Duration("progress", 2*time.Second, "interval of progress lines on stderr (0: none)")
	if code := parseFlags(fs, rest, stdout); code >= 0 {
		return code
	}
	if *total < 1 || *conc < 1 || *users < 1 || *size < 1 || *size > 4096 {
		return usageError(stderr, fs, "--count, --concurrency, --users must be positive; --payload-size 1-4096")
	}
	base := trimURL(*server)
	if err := ensureBenchBizType(base, *instance, *biz); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	r := benchPush(base, *instance, *biz, *total, *conc, *users, *size, *progress, stderr)
	_ = json.NewEncoder(stdout).Encode(r)
	if r.Errors > 0 {
		return 1
	}
	return 0
}

func ensureBenchBizType(base, instance, biz string) error {
	u := base + "/api/v1/instances/" + url.PathEscape(instance) + "/biztypes/" + url.PathEscape(biz)
	status, _, err := callJSON(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if status == http.StatusOK {
		return nil
	}
	status, raw, err := callJSON(http.MethodPut, u, map[string]any{"target": "user"})
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("creating bizType %s: HTTP %d %s", biz, status, raw)
	}
	return nil
}

// pushReport is the JSON report of `bench push`.
type pushReport struct {
	Scenario     string  `json:"scenario"`
	Pushes       int     `json:"pushes"`
	Errors       int64   `json:"errors"`
	Concurrency  int     `json:"concurrency"`
	Users        int     `json:"users"`
	PayloadBytes int     `json:"payloadBytes"`
	Seconds      float64 `json:"seconds"`
	PushesPerSec float64 `json:"pushesPerSec"`
	LatencyMs    struct {
		P50  float64 `json:"p50"`
		P99  float64 `json:"p99"`
		P999 float64 `json:"p999"`
		Max  float64 `json:"max"`
	} `json:"latencyMs"`
}

func benchPush(base, instance, biz string, total, conc, users, size int, progress time.Duration, stderr io.Writer) pushReport {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}, Timeout: 30 * time.Second}
	target := base + "/webapi/sync/single?instanceId=" + url.QueryEscape(instance)
	payload := strings.Repeat("x", size)
	run := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	var next, done, errs atomic.Int64
	lat := make([][]time.Duration, conc)
	start := time.Now()
	stop := make(chan struct{})
	if progress > 0 {
		go func() {
			t := time.NewTicker(progress)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					fmt.Fprintf(stderr, "bench: %d/%d pushes, %.0f/s\n", done.Load(), total, float64(done.Load())/time.Since(start).Seconds())
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				body, _ := json.Marshal(map[string]string{"bizType": biz, "linkToken": fmt.Sprintf("bench-user-%d", i%int64(users)),
					"thirdMsgId": fmt.Sprintf("%s-%d", run, i), "payload": payload})
				t0 := time.Now()
				resp, err := client.Post(target, "application/json", bytes.NewReader(body))
				ok := false
				if err == nil {
					var a struct{ Msg string }
					ok = json.NewDecoder(resp.Body).Decode(&a) == nil && a.Msg == "SUCCESS"
					resp.Body.Close()
				}
				lat[w] = append(lat[w], time.Since(t0))
				if !ok {
					errs.Add(1)
				}
				done.Add(1)
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r := pushReport{Scenario: "push", Pushes: total, Errors: errs.Load(), Concurrency: conc, Users: users, PayloadBytes: size,
		Seconds: elapsed.Seconds(), PushesPerSec: float64(total) / elapsed.Seconds()}
	r.LatencyMs.P50 = percentileMs(all, 0.50)
	r.LatencyMs.P99 = percentileMs(all, 0.99)
	r.LatencyMs.P999 = percentileMs(all, 0.999)
	r.LatencyMs.Max = percentileMs(all, 1)
	return r
}

// percentileMs returns the q-quantile of sorted durations in milliseconds.
func percentileMs(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}
