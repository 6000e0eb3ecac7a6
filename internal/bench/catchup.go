package bench

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// CatchupConfig configures catchup: a client that was connected comes
// back to a backlog of Backlog entries.
type CatchupConfig struct {
	Backlog     int
	Batch       int
	Concurrency int
	PayloadSize int
	Repeat      int
	Timeout     time.Duration
}

func (c *CatchupConfig) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.Backlog, "backlog", 100000, "entries pushed while the client is away")
	fs.IntVar(&c.Batch, "batch", 1000, "items per batch request when filling the backlog")
	fs.IntVar(&c.Concurrency, "concurrency", 2, "fill requests in flight")
	fs.IntVar(&c.PayloadSize, "payload-size", 200, "payload bytes")
	fs.IntVar(&c.Repeat, "repeat", 3, "catch-ups, each a user of its own; the report gives the median")
	fs.DurationVar(&c.Timeout, "timeout", 5*time.Minute, "give up after this long")
}

func (c *CatchupConfig) check() error {
	if c.Backlog < 1 || c.Batch < 1 || c.Batch > 1000 || c.Concurrency < 1 || c.PayloadSize < 1 || c.PayloadSize > 4096 || c.Timeout <= 0 || c.Repeat < 1 {
		return usageErr("--backlog, --concurrency, --repeat, --timeout must be positive; --batch 1-1000; --payload-size 1-4096")
	}
	return nil
}

// CatchupRun is one catch-up: from opening the connection until the
// last backlog entry is read (every frame acknowledged on arrival).
type CatchupRun struct {
	Received         int64   `json:"received"`
	Duplicates       int64   `json:"duplicates"`
	OrderViolations  int64   `json:"orderViolations"`
	FillSeconds      float64 `json:"fillSeconds"`
	FillPerSec       float64 `json:"fillEntriesPerSec"`
	FirstDeliveryMs  float64 `json:"firstDeliveryMs"`
	Seconds          float64 `json:"seconds"`
	EntriesPerSec    float64 `json:"entriesPerSec"`
	Frames           int64   `json:"frames"`
	MessagesPerFrame float64 `json:"messagesPerFrame"`
	Error            string  `json:"error,omitempty"`
	BenchCPU         Usage   `json:"benchCpu"`
	ServerCPU        *Usage  `json:"serverCpu,omitempty"`
}

// CatchupReport is catchup's report: the median of Repeat rounds (by
// entries/s), each a user of its own; received is the smallest count,
// duplicates and order violations the sums.
type CatchupReport struct {
	Scenario     string `json:"scenario"`
	Backlog      int    `json:"backlog"`
	PayloadBytes int    `json:"payloadBytes"`
	Fill         string `json:"fill"`
	CatchupRun
	Runs []CatchupRun `json:"runs"`
}

// Failed implements Report.
func (r *CatchupReport) Failed() bool {
	return int(r.Received) != r.Backlog || r.OrderViolations > 0 || r.Error != ""
}

func init() {
	register(&Scenario{Name: "catchup", Summary: "a client reconnecting to a backlog: entries/s until caught up",
		Bind: func(fs *flag.FlagSet) func(context.Context, *Env) (Report, error) {
			c := &CatchupConfig{}
			c.flags(fs)
			return func(ctx context.Context, env *Env) (Report, error) { return report(RunCatchup(ctx, env, *c)) }
		}})
}

// RunCatchup runs catchup.
func RunCatchup(ctx context.Context, env *Env, c CatchupConfig) (*CatchupReport, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	t, err := env.open(ctx, false)
	if err != nil {
		return nil, err
	}
	defer t.close()
	a := t.api(c.Concurrency + 1)
	defer a.close()
	const biz = "CATCHUP"
	if err := t.setup(ctx, a, biz, map[string]any{"target": "user"}); err != nil {
		return nil, err
	}
	run := runID()
	d, err := newDialer(t.url, 1)
	if err != nil {
		return nil, err
	}
	r := &CatchupReport{Scenario: "catchup", Backlog: c.Backlog, PayloadBytes: c.PayloadSize}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	fill := newFiller(ctx, a, env.Instance, c.Batch, c.Concurrency)
	r.Fill = fill.method()
	for k := 0; k < c.Repeat; k++ {
		x, err := catchupOnce(ctx, env, t, a, d, fill, c, biz, fmt.Sprintf("%s-%d", run, k))
		if err != nil {
			return nil, err
		}
		env.logf("catchup: round %d/%d: %.0f entries/s, first delivery after %.0f ms", k+1, c.Repeat, x.EntriesPerSec, x.FirstDeliveryMs)
		r.Runs = append(r.Runs, *x)
	}
	// The median run (by throughput) is the result.
	runs := append([]CatchupRun(nil), r.Runs...)
	sort.Slice(runs, func(i, j int) bool { return runs[i].EntriesPerSec < runs[j].EntriesPerSec })
	r.CatchupRun = runs[len(runs)/2]
	for _, x := range r.Runs {
		r.Duplicates += x.Duplicates
		r.OrderViolations += x.OrderViolations
		if x.Error != "" && r.Error == "" {
			r.Error = x.Error
		}
		if x.Received < r.Received {
			r.Received = x.Received // the report shows the worst count
		}
	}
	return r, nil
}

// catchupOnce runs one round with the user catchup-<id>: the client is
// there once, receives and acknowledges a first entry, and leaves; the
// backlog accumulates; it comes back with its sync point.
func catchupOnce(ctx context.Context, env *Env, t *target, a *api, d *dialer, fill *filler, c CatchupConfig, biz, id string) (*CatchupRun, error) {
	user, device := "catchup-"+id, "catchup-dev"
	x := &CatchupRun{}
	cn, err := d.connect(ctx, connectFrame(env.Instance, user, device, map[string]uint64{biz: 0}))
	if err != nil {
		return nil, err
	}
	if ans, err := a.push(ctx, env.Instance, false, appendItem(nil, biz, user, id+"-hello", "hello")); err != nil || !ans.stored() {
		cn.close()
		return nil, fmt.Errorf("bench: first push: %v %+v", err, ans)
	}
	var point uint64
	for point == 0 {
		f, err := cn.next(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench: waiting for the first entry: %w", err)
		}
		if dl := f.GetDeliver(); dl != nil && len(dl.Messages) > 0 {
			point = dl.Messages[len(dl.Messages)-1].OplogId
			if err := cn.ack(ctx, dl.Messages); err != nil {
				return nil, err
			}
		}
	}
	cn.closeNormal()

	env.logf("catchup: filling a backlog of %d entries (%s)", c.Backlog, fill.method())
	payload := strings.Repeat("x", c.PayloadSize)
	fill.stored.Store(0)
	t0 := time.Now()
	stop := env.ticker(func() { env.logf("catchup: %d/%d stored", fill.stored.Load(), c.Backlog) })
	err = fill.fill(ctx, c.Backlog, func(b []byte, i int) []byte {
		return appendItem(b, biz, user, id+"-"+strconv.Itoa(i), payload)
	})
	stop()
	if err != nil {
		return nil, err
	}
	x.FillSeconds = round3(time.Since(t0).Seconds())
	x.FillPerSec = rate(int64(c.Backlog), time.Since(t0))

	env.logf("catchup: reconnecting")
	cpu := startCPU(t.pid())
	start := time.Now()
	cn, err = d.connect(ctx, connectFrame(env.Instance, user, device, map[string]uint64{biz: point}))
	if err != nil {
		return nil, err
	}
	defer cn.close()
	var got atomic.Int64 // x.Received, for progress lines
	stop = env.ticker(func() { env.logf("catchup: %d/%d received", got.Load(), c.Backlog) })
	last := point
	for int(x.Received) < c.Backlog {
		f, err := cn.next(ctx)
		if err != nil {
			x.Error = err.Error()
			break
		}
		dl := f.GetDeliver()
		if dl == nil {
			continue
		}
		if x.Frames == 0 {
			x.FirstDeliveryMs = ms(time.Since(start))
		}
		x.Frames++
		for _, m := range dl.Messages {
			switch {
			case m.OplogId <= last:
				x.Duplicates++
			case !strings.HasPrefix(m.ThirdMsgId, id+"-"):
				x.OrderViolations++ // not of this backlog
			default:
				last = m.OplogId
				x.Received++
			}
		}
		got.Store(x.Received)
		if err := cn.ack(ctx, dl.Messages); err != nil {
			x.Error = err.Error()
			break
		}
	}
	elapsed := time.Since(start)
	stop()
	bc, sc := cpu.stop()
	x.BenchCPU = bc
	if t.srv != nil {
		x.ServerCPU = &sc
	}
	x.Seconds = round3(elapsed.Seconds())
	x.EntriesPerSec = rate(x.Received, elapsed)
	if x.Frames > 0 {
		x.MessagesPerFrame = round1(float64(x.Received+x.Duplicates) / float64(x.Frames))
	}
	return x, nil
}
