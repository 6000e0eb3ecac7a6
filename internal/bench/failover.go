package bench

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// FailoverConfig configures failover: on a spawned node set under Writers
// sequential pushers, the raft leader is killed with SIGKILL Kills times
// (and started again after each); how long after each kill does every
// writer get a push acknowledged again?
type FailoverConfig struct {
	Kills   int
	Writers int
	Nodes   int
	// Bound is the promise the report is checked against: every writer
	// has a push acknowledged within Bound of each kill.
	Bound time.Duration
	// PushTimeout is a writer's HTTP client timeout per push.
	PushTimeout time.Duration
	// Settle is how many pushes each writer has acknowledged between a
	// restarted set being ready and the next kill.
	Settle int
	// KillTimeout is how long to wait for every writer to resume before
	// the kill counts as failed.
	KillTimeout time.Duration
	// NodeLogs, if set, is a directory receiving each node's stderr
	// (node<i>.log), for finding where the time went.
	NodeLogs string
}

func (c *FailoverConfig) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.Kills, "kills", 20, "kill -9 the raft leader this many times (each restarted before the next kill)")
	fs.IntVar(&c.Writers, "writers", 6, "sequential pushers, each to its own stream; one that fails moves to the next node")
	fs.IntVar(&c.Nodes, "nodes", 3, "voters in the spawned set")
	fs.DurationVar(&c.Bound, "bound", 3*time.Second, "every writer must have a push acknowledged within this long after each kill (the report's pass)")
	fs.DurationVar(&c.PushTimeout, "push-timeout", 10*time.Second, "a writer's HTTP timeout per push")
	fs.IntVar(&c.Settle, "settle", 20, "acknowledged pushes per writer between the set being whole again and the next kill")
	fs.DurationVar(&c.KillTimeout, "kill-timeout", 30*time.Second, "longest wait for every writer to resume after a kill")
	fs.StringVar(&c.NodeLogs, "node-logs", "", "directory to write each node's stderr to (node<i>.log); pass --serve-arg=--log-level=debug for details")
}

func (c *FailoverConfig) check() error {
	if c.Kills < 1 || c.Writers < 1 || c.Nodes < 3 || c.Bound <= 0 || c.PushTimeout <= 0 || c.Settle < 1 || c.KillTimeout <= 0 {
		return usageErr("--kills, --writers, --bound, --push-timeout, --settle, --kill-timeout must be positive; --nodes at least 3")
	}
	return nil
}

// FailoverKill is one kill of the leader. Times are from the SIGKILL.
type FailoverKill struct {
	Victim int `json:"victim"` // the node killed (its index)
	// At is when it was killed (RFC 3339, ms), to find in node logs.
	At string `json:"at"`
	// ResumedMs is each writer's first acknowledged push among those it
	// sent after the kill (-1: none within the kill timeout).
	ResumedMs []float64 `json:"resumedMs"`
	// FirstMs: the first writer to resume; AllMs: the last one.
	FirstMs float64 `json:"firstMs"`
	AllMs   float64 `json:"allMs"`
	// RestartMs: the victim started again until the set was whole.
	RestartMs float64 `json:"restartMs"`
	// Slowest is what the last writer to resume tried after the kill,
	// one line per push ("+ms node N: answer after ms"), where the time
	// went when it was long.
	Slowest []string `json:"slowestWriterAttempts,omitempty"`
}

// Dist is a small sample's distribution in milliseconds (nearest rank).
type Dist struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	Max   float64 `json:"max"`
}

// FailoverReport is failover's report. Overall is every writer's
// resumption after every kill; Writers one distribution per writer;
// LastWriter the time until all writers had resumed, per kill.
type FailoverReport struct {
	Scenario     string         `json:"scenario"`
	Nodes        int            `json:"nodes"`
	Writers      int            `json:"writers"`
	Kills        int            `json:"kills"`
	BoundMs      float64        `json:"boundMs"`
	Pass         bool           `json:"pass"` // every writer resumed within the bound after every kill
	Overall      Dist           `json:"overallMs"`
	FirstWriter  Dist           `json:"firstWriterMs"`
	LastWriter   Dist           `json:"lastWriterMs"`
	PerWriter    []Dist         `json:"perWriterMs"`
	Acknowledged int64          `json:"acknowledged"`
	FailedPushes int64          `json:"failedPushes"` // errors and refusals, each followed by a move to another node
	KillLog      []FailoverKill `json:"killLog"`
	Seconds      float64        `json:"seconds"`
	Error        string         `json:"error,omitempty"`
}

// Failed implements Report: an error, or a writer that did not resume at
// all. Resuming later than the bound is not a failure of the run (Pass
// says so).
func (r *FailoverReport) Failed() bool {
	for _, k := range r.KillLog {
		for _, v := range k.ResumedMs {
			if v < 0 {
				return true
			}
		}
	}
	return r.Error != "" || len(r.KillLog) == 0
}

func init() {
	register(&Scenario{Name: "failover", Spawns: true, Summary: "kill -9 the raft leader of a set under push load, again and again: how soon every writer is acknowledged again",
		Bind: func(fs *flag.FlagSet) func(context.Context, *Env) (Report, error) {
			c := &FailoverConfig{}
			c.flags(fs)
			return func(ctx context.Context, env *Env) (Report, error) { return report(RunFailover(ctx, env, *c)) }
		}})
}

// foWriter is one sequential pusher.
type foWriter struct {
	mu      sync.Mutex
	acked   int       // pushes acknowledged in all
	since   time.Time // the last kill; zero: not measuring
	resumed time.Duration
	trace   []string // its pushes since the kill, until it resumed
	changed chan struct{}
}

// maxTrace bounds a writer's trace of one kill.
const maxTrace = 30

// mark starts measuring resumption after a kill at t.
func (w *foWriter) mark(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.since, w.resumed, w.trace = t, -1, nil
}

// attempt records a push sent at sent to node, answered at done with
// outcome, while the writer has not resumed since the kill.
func (w *foWriter) attempt(node int, sent, done time.Time, outcome string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.since.IsZero() || w.resumed >= 0 || done.Before(w.since) || len(w.trace) >= maxTrace {
		return
	}
	w.trace = append(w.trace, fmt.Sprintf("%+.0fms node %d: %s after %.0fms", ms(sent.Sub(w.since)), node, outcome, ms(done.Sub(sent))))
}

// ack records a push sent at sent and acknowledged at done.
func (w *foWriter) ack(sent, done time.Time) {
	w.mu.Lock()
	w.acked++
	if !w.since.IsZero() && w.resumed < 0 && !sent.Before(w.since) {
		w.resumed = done.Sub(w.since)
	}
	w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *foWriter) state() (acked int, resumed time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked, w.resumed
}

// RunFailover runs failover; it always spawns its set.
func RunFailover(ctx context.Context, env *Env, c FailoverConfig) (*FailoverReport, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	env.Spawn = true
	env.nodeLogs = c.NodeLogs
	t, err := env.openSet(ctx, c.Nodes)
	if err != nil {
		return nil, err
	}
	defer t.close()
	const biz = "FAILOVER"
	a := t.api(2)
	err = t.setup(ctx, a, biz, map[string]any{"target": "user"})
	a.close()
	if err != nil {
		return nil, err
	}
	r := &FailoverReport{Scenario: "failover", Nodes: c.Nodes, Writers: c.Writers, Kills: c.Kills, BoundMs: ms(c.Bound)}
	began := time.Now()
	run := runID()

	var urlMu sync.Mutex
	urls := t.urls()
	urlOf := func(i int) string {
		urlMu.Lock()
		defer urlMu.Unlock()
		return urls[i]
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var acked, failed atomic.Int64
	writers := make([]*foWriter, c.Writers)
	var wg sync.WaitGroup
	for w := range writers {
		wr := &foWriter{changed: make(chan struct{}, 1)}
		writers[w] = wr
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}, Timeout: c.PushTimeout}
			defer hc.CloseIdleConnections()
			user := "fo-" + run + "-u" + strconv.Itoa(w)
			node := w % c.Nodes
			var body []byte
			for seq := 0; loadCtx.Err() == nil; seq++ {
				id := run + "-w" + strconv.Itoa(w) + "-" + strconv.Itoa(seq)
				body = appendItem(body[:0], biz, user, id, id)
				sent := time.Now()
				ans, err := (&api{base: urlOf(node), hc: hc, creds: env.creds()}).push(loadCtx, env.Instance, false, body)
				outcome := ans.Msg
				if err != nil {
					outcome = err.Error()
				}
				wr.attempt(node, sent, time.Now(), outcome)
				if err == nil && ans.stored() {
					acked.Add(1)
					wr.ack(sent, time.Now())
					continue
				}
				if loadCtx.Err() != nil {
					return
				}
				failed.Add(1)
				node = (node + 1) % c.Nodes
				// A dead node refuses at once: do not spin through the
				// nodes faster than they can change.
				select {
				case <-loadCtx.Done():
				case <-time.After(10 * time.Millisecond):
				}
			}
		}()
	}
	// awaitWriters waits until ok holds for every writer, or timeout.
	awaitWriters := func(timeout time.Duration, ok func(i int, w *foWriter) bool) bool {
		deadline := time.NewTimer(timeout)
		defer deadline.Stop()
		for i, w := range writers {
			for !ok(i, w) {
				select {
				case <-w.changed:
				case <-deadline.C:
					return false
				case <-ctx.Done():
					return false
				}
			}
		}
		return true
	}
	settle := func() error {
		base := make([]int, len(writers))
		for i, w := range writers {
			base[i], _ = w.state()
		}
		if !awaitWriters(time.Minute, func(i int, w *foWriter) bool { n, _ := w.state(); return n >= base[i]+c.Settle }) {
			return fmt.Errorf("bench: the writers did not get %d pushes each acknowledged within a minute", c.Settle)
		}
		return nil
	}
	fail := func(err error) (*FailoverReport, error) {
		r.Error = err.Error()
		stopLoad()
		wg.Wait()
		r.finish(len(writers), acked.Load(), failed.Load(), began, c.Bound, c.KillTimeout)
		return r, nil
	}

	for k := 1; k <= c.Kills; k++ {
		if err := settle(); err != nil {
			return fail(err)
		}
		leader, err := t.waitSet(ctx, time.Minute)
		if err != nil {
			return fail(err)
		}
		at := time.Now()
		for _, w := range writers {
			w.mark(at)
		}
		t.set[leader].Kill()
		awaitWriters(c.KillTimeout, func(_ int, w *foWriter) bool { _, d := w.state(); return d >= 0 })
		x := FailoverKill{Victim: leader, At: at.UTC().Format("2006-01-02T15:04:05.000Z07:00"), FirstMs: -1, AllMs: -1}
		for _, w := range writers {
			_, d := w.state()
			v := -1.0
			if d >= 0 {
				v = ms(d)
			}
			x.ResumedMs = append(x.ResumedMs, v)
			if v >= 0 && (x.FirstMs < 0 || v < x.FirstMs) {
				x.FirstMs = v
			}
		}
		x.AllMs = x.ResumedMs[0]
		slowest := 0
		for i, v := range x.ResumedMs {
			if v < 0 || x.AllMs < 0 {
				x.AllMs, slowest = -1, i
				break
			}
			if v > x.AllMs {
				x.AllMs, slowest = v, i
			}
		}
		writers[slowest].mu.Lock()
		x.Slowest = writers[slowest].trace
		writers[slowest].mu.Unlock()
		t0 := time.Now()
		if err := t.restartNode(ctx, leader); err != nil {
			return fail(err)
		}
		urlMu.Lock()
		urls[leader] = t.set[leader].URL
		urlMu.Unlock()
		if _, err := t.waitSet(ctx, time.Minute); err != nil {
			return fail(err)
		}
		x.RestartMs = ms(time.Since(t0))
		r.KillLog = append(r.KillLog, x)
		env.logf("failover: kill %d/%d of node %d: first writer acknowledged after %.0f ms, the last after %.0f ms (%v)",
			k, c.Kills, leader, x.FirstMs, x.AllMs, x.ResumedMs)
	}
	stopLoad()
	wg.Wait()
	r.finish(len(writers), acked.Load(), failed.Load(), began, c.Bound, c.KillTimeout)
	return r, nil
}

// finish fills the report's distributions from its kills; a writer that
// did not resume counts as the kill timeout.
func (r *FailoverReport) finish(writers int, acked, failed int64, began time.Time, bound, killTimeout time.Duration) {
	r.Acknowledged, r.FailedPushes = acked, failed
	r.Seconds = round3(time.Since(began).Seconds())
	missing := ms(killTimeout)
	or := func(v float64) float64 {
		if v < 0 {
			return missing
		}
		return v
	}
	var all, first, last []float64
	per := make([][]float64, writers)
	r.Pass = len(r.KillLog) > 0
	for _, k := range r.KillLog {
		first, last = append(first, or(k.FirstMs)), append(last, or(k.AllMs))
		for w, v := range k.ResumedMs {
			all, per[w] = append(all, or(v)), append(per[w], or(v))
			if v < 0 || v > ms(bound) {
				r.Pass = false
			}
		}
	}
	r.Overall, r.FirstWriter, r.LastWriter = dist(all), dist(first), dist(last)
	r.PerWriter = make([]Dist, writers)
	for w := range per {
		r.PerWriter[w] = dist(per[w])
	}
}

// dist is the distribution of a small sample (nearest rank).
func dist(v []float64) Dist {
	if len(v) == 0 {
		return Dist{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	rank := func(q float64) float64 { return s[max(int(math.Ceil(q*float64(len(s))))-1, 0)] }
	return Dist{Count: len(s), P50: rank(0.5), P90: rank(0.9), Max: s[len(s)-1]}
}
