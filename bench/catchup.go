package bench

import (
	"context"
	"flag"
	"fmt"
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
	Timeout     time.Duration
}

func (c *CatchupConfig) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.Backlog, "backlog", 100000, "entries pushed while the client is away")
	fs.IntVar(&c.Batch, "batch", 1000, "items per batch request when filling the backlog")
	fs.IntVar(&c.Concurrency, "concurrency", 2, "fill requests in flight")
	fs.IntVar(&c.PayloadSize, "payload-size", 200, "payload bytes")
	fs.DurationVar(&c.Timeout, "timeout", 5*time.Minute, "give up catching up after this long")
}

func (c *CatchupConfig) check() error {
	if c.Backlog < 1 || c.Batch < 1 || c.Batch > 1000 || c.Concurrency < 1 || c.PayloadSize < 1 || c.PayloadSize > 4096 || c.Timeout <= 0 {
		return usageErr("--backlog, --concurrency, --timeout must be positive; --batch 1-1000; --payload-size 1-4096")
	}
	return nil
}

// CatchupReport is catchup's report: from opening the connection until
// the last backlog entry is read (every frame acknowledged on arrival).
type CatchupReport struct {
	Scenario         string  `json:"scenario"`
	Backlog          int     `json:"backlog"`
	Received         int64   `json:"received"`
	Duplicates       int64   `json:"duplicates"`
	OrderViolations  int64   `json:"orderViolations"`
	PayloadBytes     int     `json:"payloadBytes"`
	Fill             string  `json:"fill"`
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
	user, device := "catchup-"+run, "catchup-dev"
	d, err := newDialer(t.url, 1)
	if err != nil {
		return nil, err
	}
	r := &CatchupReport{Scenario: "catchup", Backlog: c.Backlog, PayloadBytes: c.PayloadSize}

	// The client is there once, receives and acknowledges a first entry,
	// and leaves.
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	cn, err := d.connect(ctx, connectFrame(env.Instance, user, device, map[string]uint64{biz: 0}))
	if err != nil {
		return nil, err
	}
	if ans, err := a.push(ctx, env.Instance, false, appendItem(nil, biz, user, run+"-hello", "hello")); err != nil || !ans.stored() {
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

	// The backlog accumulates.
	fill := newFiller(ctx, a, env.Instance, c.Batch, c.Concurrency)
	env.logf("catchup: filling a backlog of %d entries (%s)", c.Backlog, fill.method())
	r.Fill = fill.method()
	payload := strings.Repeat("x", c.PayloadSize)
	t0 := time.Now()
	stop := env.ticker(func() { env.logf("catchup: %d/%d stored", fill.stored.Load(), c.Backlog) })
	err = fill.fill(ctx, c.Backlog, func(b []byte, i int) []byte {
		return appendItem(b, biz, user, run+"-"+strconv.Itoa(i), payload)
	})
	stop()
	if err != nil {
		return nil, err
	}
	r.FillSeconds = round3(time.Since(t0).Seconds())
	r.FillPerSec = rate(int64(c.Backlog), time.Since(t0))

	// It comes back with its sync point.
	env.logf("catchup: reconnecting")
	cpu := startCPU(t.pid())
	start := time.Now()
	cn, err = d.connect(ctx, connectFrame(env.Instance, user, device, map[string]uint64{biz: point}))
	if err != nil {
		return nil, err
	}
	defer cn.close()
	var got atomic.Int64 // r.Received, for progress lines
	stop = env.ticker(func() { env.logf("catchup: %d/%d received", got.Load(), c.Backlog) })
	last := point
	for int(r.Received) < c.Backlog {
		f, err := cn.next(ctx)
		if err != nil {
			r.Error = err.Error()
			break
		}
		dl := f.GetDeliver()
		if dl == nil {
			continue
		}
		if r.Frames == 0 {
			r.FirstDeliveryMs = ms(time.Since(start))
		}
		r.Frames++
		for _, m := range dl.Messages {
			switch {
			case m.OplogId <= last:
				r.Duplicates++
			case !strings.HasPrefix(m.ThirdMsgId, run+"-"):
				r.OrderViolations++ // not of this backlog
			default:
				last = m.OplogId
				r.Received++
			}
		}
		got.Store(r.Received)
		if err := cn.ack(ctx, dl.Messages); err != nil {
			r.Error = err.Error()
			break
		}
	}
	elapsed := time.Since(start)
	stop()
	bc, sc := cpu.stop()
	r.BenchCPU = bc
	if t.srv != nil {
		r.ServerCPU = &sc
	}
	r.Seconds = round3(elapsed.Seconds())
	r.EntriesPerSec = rate(r.Received, elapsed)
	if r.Frames > 0 {
		r.MessagesPerFrame = round1(float64(r.Received+r.Duplicates) / float64(r.Frames))
	}
	return r, nil
}
