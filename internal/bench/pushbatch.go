package bench

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PushBatchConfig configures push-batch: Count entries through the batch
// push API, Batch items per request, Concurrency requests in flight.
type PushBatchConfig struct {
	Biz         string
	Count       int
	Batch       int
	Concurrency int
	Users       int
	PayloadSize int
	// Nodes > 1 spawns a set of that many nodes; requests go round-robin
	// to the nodes.
	Nodes int
}

func (c *PushBatchConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Biz, "biz", "BENCH", "bizType (created as a user-target config)")
	fs.IntVar(&c.Count, "count", 200000, "entries in all")
	fs.IntVar(&c.Batch, "batch", 1000, "items per request (the API takes at most 1000)")
	fs.IntVar(&c.Concurrency, "concurrency", 4, "requests in flight")
	fs.IntVar(&c.Users, "users", 1000, "distinct users (streams) the entries spread over; consecutive items go to consecutive users")
	fs.IntVar(&c.PayloadSize, "payload-size", 200, "payload bytes")
	nodesFlag(fs, &c.Nodes)
}

func (c *PushBatchConfig) check() error {
	if c.Count < 1 || c.Batch < 1 || c.Batch > 1000 || c.Concurrency < 1 || c.Users < 1 || c.PayloadSize < 1 || c.PayloadSize > 4096 || c.Nodes < 0 {
		return usageErr("--count, --concurrency, --users, --nodes must be positive; --batch 1-1000; --payload-size 1-4096")
	}
	return nil
}

// PushBatchReport is push-batch's report. Latency is per request: from
// sending a batch to its answer (every item on disk). Nodes, ServerCPU and
// ServerCPUPerNode: as in PushReport.
type PushBatchReport struct {
	Scenario         string        `json:"scenario"`
	Nodes            int           `json:"nodes"`
	Entries          int64         `json:"entries"`
	Requests         int64         `json:"requests"`
	Errors           int64         `json:"errors"`
	Batch            int           `json:"batch"`
	Concurrency      int           `json:"concurrency"`
	Users            int           `json:"users"`
	PayloadBytes     int           `json:"payloadBytes"`
	Seconds          float64       `json:"seconds"`
	EntriesPerSec    float64       `json:"entriesPerSec"`
	RequestsPerSec   float64       `json:"requestsPerSec"`
	LatencyMs        Latency       `json:"latencyMs"`
	FirstError       string        `json:"firstError,omitempty"`
	Journal          *JournalStats `json:"journal,omitempty"`
	BenchCPU         Usage         `json:"benchCpu"`
	ServerCPU        *Usage        `json:"serverCpu,omitempty"`
	ServerCPUPerNode []Usage       `json:"serverCpuPerNode,omitempty"`
}

// Failed implements Report.
func (r *PushBatchReport) Failed() bool { return r.Errors > 0 }

func init() {
	register(&Scenario{Name: "push-batch", Summary: "durable pushes through the batch API: entries/s, request latency p50/p99/p99.9",
		Bind: func(fs *flag.FlagSet) func(context.Context, *Env) (Report, error) {
			c := &PushBatchConfig{}
			c.flags(fs)
			return func(ctx context.Context, env *Env) (Report, error) { return report(RunPushBatch(ctx, env, *c)) }
		}})
}

// RunPushBatch runs push-batch.
func RunPushBatch(ctx context.Context, env *Env, c PushBatchConfig) (*PushBatchReport, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	t, err := env.openSet(ctx, c.Nodes)
	if err != nil {
		return nil, err
	}
	defer t.close()
	as := t.apis(c.Concurrency)
	defer closeAPIs(as)
	a := as[0]
	if err := t.setup(ctx, a, c.Biz, map[string]any{"target": "user"}); err != nil {
		return nil, err
	}
	if !a.hasBatch(ctx, env.Instance) {
		return nil, errNoBatch
	}
	env.logf("push-batch: %d entries, %d per request, %d in flight, %d users", c.Count, c.Batch, c.Concurrency, c.Users)
	payload := strings.Repeat("x", c.PayloadSize)
	run := runID()
	requests := (c.Count + c.Batch - 1) / c.Batch
	var next, entries, reqs, errs atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		errs.Add(1)
		firstErr.CompareAndSwap(nil, err.Error())
	}
	h := &histogram{}
	jm := startJournal(ctx, as...)
	cpu := startCPU(t.pids()...)
	start := time.Now()
	stop := env.ticker(func() {
		env.logf("push-batch: %d/%d entries, %.0f/s", entries.Load(), c.Count, float64(entries.Load())/time.Since(start).Seconds())
	})
	var wg sync.WaitGroup
	for w := 0; w < c.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var items []byte
			for ctx.Err() == nil {
				r := next.Add(1) - 1
				if r >= int64(requests) {
					return
				}
				lo, hi := int(r)*c.Batch, min(int(r+1)*c.Batch, c.Count)
				items = items[:0]
				for i := lo; i < hi; i++ {
					if i > lo {
						items = append(items, ',')
					}
					items = appendItem(items, c.Biz, "bench-user-"+strconv.Itoa(i%c.Users), run+"-"+strconv.Itoa(i), payload)
				}
				t0 := time.Now()
				res, err := as[int(r)%len(as)].pushBatch(ctx, env.Instance, items) // requests round-robin over the nodes
				h.record(time.Since(t0))
				reqs.Add(1)
				if err != nil {
					fail(err)
					continue
				}
				if len(res) != hi-lo {
					fail(fmt.Errorf("batch of %d answered %d results", hi-lo, len(res)))
				}
				for _, ans := range res {
					if ans.stored() {
						entries.Add(1)
					} else {
						fail(fmt.Errorf("batch item answered %s %s", ans.Msg, ans.Detail))
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stop()
	benchCPU, serverCPU := cpu.stop()
	r := &PushBatchReport{Scenario: "push-batch", Nodes: t.nodes(), Entries: entries.Load(), Requests: reqs.Load(), Errors: errs.Load(), Batch: c.Batch,
		Concurrency: c.Concurrency, Users: c.Users, PayloadBytes: c.PayloadSize, Seconds: round3(elapsed.Seconds()),
		EntriesPerSec: rate(entries.Load(), elapsed), RequestsPerSec: rate(reqs.Load(), elapsed), LatencyMs: h.latency(), BenchCPU: benchCPU}
	if t.srv != nil {
		r.ServerCPU, r.ServerCPUPerNode = &serverCPU, cpu.perNode()
	}
	r.Journal = jm.stop(ctx)
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	return r, ctx.Err()
}
