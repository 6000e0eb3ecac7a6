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

// PushConfig configures the push scenario: durable single pushes from
// Concurrency callers, each waiting for its answer before the next.
type PushConfig struct {
	Biz         string
	Count       int
	Concurrency int
	Users       int
	PayloadSize int
	// Nodes > 1 spawns a set of that many nodes; callers go round-robin
	// to the nodes.
	Nodes int
}

func (c *PushConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Biz, "biz", "BENCH", "bizType (created as a user-target config)")
	fs.IntVar(&c.Count, "count", 20000, "pushes in all")
	fs.IntVar(&c.Concurrency, "concurrency", 64, "concurrent callers")
	fs.IntVar(&c.Users, "users", 1000, "distinct users (streams) the pushes spread over")
	fs.IntVar(&c.PayloadSize, "payload-size", 200, "payload bytes")
	nodesFlag(fs, &c.Nodes)
}

func (c *PushConfig) check() error {
	if c.Count < 1 || c.Concurrency < 1 || c.Users < 1 || c.PayloadSize < 1 || c.PayloadSize > 4096 || c.Nodes < 0 {
		return usageErr("--count, --concurrency, --users, --nodes must be positive; --payload-size 1-4096")
	}
	return nil
}

// PushReport is the push scenario's report. Latency is the time from
// sending a push to its SUCCESS answer (the entry is on disk; on a set,
// committed on a majority of the nodes). Nodes is how many nodes took the
// pushes; ServerCPU is their CPU summed, ServerCPUPerNode each one's.
type PushReport struct {
	Scenario         string        `json:"scenario"`
	Nodes            int           `json:"nodes"`
	Pushes           int           `json:"pushes"`
	Errors           int64         `json:"errors"`
	Concurrency      int           `json:"concurrency"`
	Users            int           `json:"users"`
	PayloadBytes     int           `json:"payloadBytes"`
	Seconds          float64       `json:"seconds"`
	PushesPerSec     float64       `json:"pushesPerSec"`
	LatencyMs        Latency       `json:"latencyMs"`
	FirstError       string        `json:"firstError,omitempty"`
	Journal          *JournalStats `json:"journal,omitempty"`
	BenchCPU         Usage         `json:"benchCpu"`
	ServerCPU        *Usage        `json:"serverCpu,omitempty"`
	ServerCPUPerNode []Usage       `json:"serverCpuPerNode,omitempty"`
}

// Failed implements Report.
func (r *PushReport) Failed() bool { return r.Errors > 0 }

func init() {
	register(&Scenario{Name: "push", Summary: "durable single pushes from C concurrent callers: pushes/s, ack latency p50/p99/p99.9",
		Bind: func(fs *flag.FlagSet) func(context.Context, *Env) (Report, error) {
			c := &PushConfig{}
			c.flags(fs)
			return func(ctx context.Context, env *Env) (Report, error) { return report(RunPush(ctx, env, *c)) }
		}})
}

// RunPush runs the push scenario.
func RunPush(ctx context.Context, env *Env, c PushConfig) (*PushReport, error) {
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
	env.logf("push: %d single pushes, %d callers over %d node(s), %d users, %d-byte payloads", c.Count, c.Concurrency, len(as), c.Users, c.PayloadSize)
	payload := strings.Repeat("x", c.PayloadSize)
	run := runID()
	var next, done, errs atomic.Int64
	var firstErr atomic.Value
	h := &histogram{}
	jm := startJournal(ctx, as...)
	cpu := startCPU(t.pids()...)
	start := time.Now()
	stop := env.ticker(func() {
		env.logf("push: %d/%d pushes, %.0f/s", done.Load(), c.Count, float64(done.Load())/time.Since(start).Seconds())
	})
	var wg sync.WaitGroup
	for w := 0; w < c.Concurrency; w++ {
		wg.Add(1)
		a := as[w%len(as)] // callers round-robin over the nodes
		go func() {
			defer wg.Done()
			var body []byte
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(c.Count) {
					return
				}
				body = appendItem(body[:0], c.Biz, "bench-user-"+strconv.FormatInt(i%int64(c.Users), 10), run+"-"+strconv.FormatInt(i, 10), payload)
				t0 := time.Now()
				ans, err := a.push(ctx, env.Instance, false, body)
				h.record(time.Since(t0))
				if err == nil && !ans.stored() {
					err = fmt.Errorf("push answered %s %s", ans.Msg, ans.Detail)
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stop()
	benchCPU, serverCPU := cpu.stop()
	r := &PushReport{Scenario: "push", Nodes: t.nodes(), Pushes: int(done.Load()), Errors: errs.Load(), Concurrency: c.Concurrency, Users: c.Users,
		PayloadBytes: c.PayloadSize, Seconds: round3(elapsed.Seconds()), PushesPerSec: rate(done.Load(), elapsed),
		LatencyMs: h.latency(), BenchCPU: benchCPU}
	if t.srv != nil {
		r.ServerCPU, r.ServerCPUPerNode = &serverCPU, cpu.perNode()
	}
	r.Journal = jm.stop(ctx)
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	return r, ctx.Err()
}
