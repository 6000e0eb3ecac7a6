package bench

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// RecoveryConfig configures recovery: a node holding Entries journal
// entries over Streams streams is restarted (after SIGTERM, then after
// kill -9); how soon does it answer, and deliver a given stream?
type RecoveryConfig struct {
	Entries     int
	Streams     int
	Batch       int
	Concurrency int
	PayloadSize int
	Timeout     time.Duration
}

func (c *RecoveryConfig) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.Entries, "entries", 1000000, "journal entries to store before the restarts")
	fs.IntVar(&c.Streams, "streams", 100000, "streams (users) the entries spread over, equally")
	fs.IntVar(&c.Batch, "batch", 1000, "items per batch request when filling")
	fs.IntVar(&c.Concurrency, "concurrency", 4, "fill requests in flight")
	fs.IntVar(&c.PayloadSize, "payload-size", 100, "payload bytes")
	fs.DurationVar(&c.Timeout, "timeout", 2*time.Minute, "longest wait for each restarted node to answer and deliver")
}

func (c *RecoveryConfig) check() error {
	if c.Entries < 1 || c.Streams < 1 || c.Entries%c.Streams != 0 || c.Batch < 1 || c.Batch > 1000 || c.Concurrency < 1 ||
		c.PayloadSize < 1 || c.PayloadSize > 4096 || c.Timeout <= 0 {
		return usageErr("--entries (a multiple of --streams), --streams, --concurrency, --timeout must be positive; --batch 1-1000; --payload-size 1-4096")
	}
	return nil
}

// Restart is one measured restart; times are from starting the process.
type Restart struct {
	Stop              string  `json:"stop"`   // how the previous process ended: term or kill
	StopMs            float64 `json:"stopMs"` // SIGTERM until the process was gone
	ListeningMs       float64 `json:"listeningMs"`
	HealthzMs         float64 `json:"healthzMs"`
	ReadyzMs          float64 `json:"readyzMs"`
	FirstDeliveryMs   float64 `json:"firstDeliveryMs"`
	StreamDeliveredMs float64 `json:"streamDeliveredMs"` // all of the probed stream's entries read
	ProbeStream       string  `json:"probeStream"`
	Delivered         int     `json:"delivered"`
	Activations       any     `json:"activationsAfter"` // /healthz's, after the probe
	Error             string  `json:"error,omitempty"`
}

// RecoveryReport is recovery's report.
type RecoveryReport struct {
	Scenario         string    `json:"scenario"`
	Entries          int       `json:"entries"`
	Streams          int       `json:"streams"`
	EntriesPerStream int       `json:"entriesPerStream"`
	Fill             string    `json:"fill"`
	FillSeconds      float64   `json:"fillSeconds"`
	FillPerSec       float64   `json:"fillEntriesPerSec"`
	DataBytes        int64     `json:"dataBytes"`
	Restarts         []Restart `json:"restarts"`
}

// Failed implements Report.
func (r *RecoveryReport) Failed() bool {
	for _, x := range r.Restarts {
		if x.Error != "" || x.Delivered != r.EntriesPerStream {
			return true
		}
	}
	return len(r.Restarts) == 0
}

func init() {
	register(&Scenario{Name: "recovery", Spawns: true, Summary: "restart a node holding many entries: time until the API answers and a stream delivers",
		Bind: func(fs *flag.FlagSet) func(context.Context, *Env) (Report, error) {
			c := &RecoveryConfig{}
			c.flags(fs)
			return func(ctx context.Context, env *Env) (Report, error) { return report(RunRecovery(ctx, env, *c)) }
		}})
}

// RunRecovery runs recovery; it always spawns its node.
func RunRecovery(ctx context.Context, env *Env, c RecoveryConfig) (*RecoveryReport, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	env.Spawn = true // it must control the process
	t, err := env.open(ctx, true)
	if err != nil {
		return nil, err
	}
	defer t.close()
	a := t.api(c.Concurrency)
	const biz = "RECOVERY"
	if err := t.setup(ctx, a, biz, map[string]any{"target": "user"}); err != nil {
		return nil, err
	}
	per := c.Entries / c.Streams
	r := &RecoveryReport{Scenario: "recovery", Entries: c.Entries, Streams: c.Streams, EntriesPerStream: per}
	run := runID()
	stream := func(s int) string { return "rec-" + run + "-u" + strconv.Itoa(s) }
	fill := newFiller(ctx, a, env.Instance, c.Batch, c.Concurrency)
	r.Fill = fill.method()
	env.logf("recovery: storing %d entries over %d streams (%s)", c.Entries, c.Streams, fill.method())
	payload := strings.Repeat("x", c.PayloadSize)
	t0 := time.Now()
	stop := env.ticker(func() {
		env.logf("recovery: %d/%d stored, %.0f/s", fill.stored.Load(), c.Entries, float64(fill.stored.Load())/time.Since(t0).Seconds())
	})
	// A stream's entries are consecutive items, so a request of 1000
	// items writes 1000/per streams.
	err = fill.fill(ctx, c.Entries, func(b []byte, i int) []byte {
		return appendItem(b, biz, stream(i/per), run+"-"+strconv.Itoa(i), payload)
	})
	stop()
	a.close()
	if err != nil {
		return nil, err
	}
	r.FillSeconds = round3(time.Since(t0).Seconds())
	r.FillPerSec = rate(int64(c.Entries), time.Since(t0))

	for k, how := range []string{"term", "kill"} {
		x := Restart{Stop: how, ProbeStream: stream((c.Streams/2 + k) % c.Streams)}
		t1 := time.Now()
		if how == "term" {
			if !t.srv.Stop(time.Minute) {
				x.Error = "the node did not stop within a minute of SIGTERM"
			}
			x.StopMs = ms(time.Since(t1))
		} else {
			t.srv.Kill()
		}
		if k == 0 {
			r.DataBytes = dirSize(t.dir)
		}
		env.logf("recovery: restarting after %s", how)
		if err := restartProbe(ctx, t, &x, biz, per, c.Timeout); err != nil && x.Error == "" {
			x.Error = err.Error()
		}
		env.logf("recovery: after %s: HTTP answers at %.0f ms, ready at %.0f ms, stream delivered at %.0f ms",
			how, x.HealthzMs, x.ReadyzMs, x.StreamDeliveredMs)
		r.Restarts = append(r.Restarts, x)
	}
	return r, nil
}

// restartProbe starts the node again and times it, probing x.ProbeStream
// with a new device.
func restartProbe(ctx context.Context, t *target, x *Restart, biz string, want int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := t.start(ctx, "127.0.0.1:0"); err != nil {
		return err
	}
	start := t.srv.Started
	x.ListeningMs = ms(t.srv.Listening.Sub(start))
	a := t.api(2)
	defer a.close()
	if err := a.waitStatus(ctx, "/healthz", time.Millisecond); err != nil {
		return err
	}
	x.HealthzMs = ms(time.Since(start))
	if err := a.waitStatus(ctx, "/readyz", time.Millisecond); err != nil {
		return err
	}
	x.ReadyzMs = ms(time.Since(start))
	d, err := newDialer(t.url, 1)
	if err != nil {
		return err
	}
	cn, err := d.connect(ctx, connectFrame(t.env.Instance, x.ProbeStream, "probe-"+x.Stop, map[string]uint64{biz: 0}))
	if err != nil {
		return err
	}
	defer cn.close()
	for x.Delivered < want {
		f, err := cn.next(ctx)
		if err != nil {
			return fmt.Errorf("probe read %d of %d: %w", x.Delivered, want, err)
		}
		dl := f.GetDeliver()
		if dl == nil {
			continue
		}
		if x.Delivered == 0 {
			x.FirstDeliveryMs = ms(time.Since(start))
		}
		x.Delivered += len(dl.Messages)
		if err := cn.ack(ctx, dl.Messages); err != nil {
			return err
		}
	}
	x.StreamDeliveredMs = ms(time.Since(start))
	var health struct {
		Activations any `json:"activations"`
	}
	if _, err := a.do(ctx, "GET", "/healthz", nil, &health); err == nil {
		x.Activations = health.Activations
	}
	return nil
}

// dirSize is the total size of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
