package bench

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ChaosConfig configures chaos, the crash harness: Rounds times, once
// this round's acknowledged pushes reach a random count in
// [RoundAcks/2, RoundAcks], the node is killed with SIGKILL and started
// again on the same data directory, while Writers push and one tail
// client per stream reads and acknowledges.
type ChaosConfig struct {
	Rounds        int
	Writers       int
	Streams       int
	RoundAcks     int
	RoundTimeout  time.Duration
	SnapshotEvery int
	Seed          uint64
	// Set, with Set.Nodes > 1, runs on a spawned node set for a duration
	// instead of Rounds (see chaos_set.go).
	Set ChaosSetConfig
}

func (c *ChaosConfig) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.Rounds, "rounds", 5, "kill -9 and restart this many times")
	fs.IntVar(&c.Writers, "writers", 8, "concurrent pushers, each sending unique increasing ids and waiting for each answer")
	fs.IntVar(&c.Streams, "streams", 4, "streams (users) the writers push to; writer w to stream w mod streams; one tail client each")
	fs.IntVar(&c.RoundAcks, "round-acks", 2000, "a round kills the node after a random count in [N/2, N] of acknowledged pushes")
	fs.DurationVar(&c.RoundTimeout, "round-timeout", time.Minute, "fail a round (and the run) that does not reach its count in this time")
	fs.IntVar(&c.SnapshotEvery, "snapshot-every", 200, "the node's --snapshot-every, small so that restarts load snapshots as well as replay")
	fs.Uint64Var(&c.Seed, "seed", 0, "seed of the kill points (0: from the clock; the report gives it)")
	c.Set.flags(fs)
}

func (c *ChaosConfig) check() error {
	if c.Rounds < 1 || c.Writers < 1 || c.Streams < 1 || c.RoundAcks < 2 || c.RoundTimeout <= 0 || c.SnapshotEvery < 1 {
		return usageErr("--rounds, --writers, --streams, --round-timeout, --snapshot-every must be positive; --round-acks at least 2")
	}
	return nil
}

// ChaosReport is chaos's report. lost, unexpected, duplicateEntries,
// oplogIdMismatches, orderViolations and lostAtTails must be 0.
type ChaosReport struct {
	Scenario string `json:"scenario"`
	Seed     uint64 `json:"seed"`
	Rounds   int    `json:"rounds"`
	Writers  int    `json:"writers"`
	Streams  int    `json:"streams"`
	Kills    int    `json:"kills"`
	// Pushes: attempted (sent), acknowledged (answered SUCCESS), unanswered
	// (no answer: in flight at a kill, or sent to a dead node), refused
	// (answered, not SUCCESS).
	Attempted    int64 `json:"attempted"`
	Acknowledged int64 `json:"acknowledged"`
	Unanswered   int64 `json:"unanswered"`
	Refused      int64 `json:"refused"`
	// Tail clients: deliveries received, duplicates among them (the same
	// oplog id again, after a reconnect: allowed), and acknowledged pushes
	// they never received.
	Deliveries  int64 `json:"deliveries"`
	Duplicates  int64 `json:"duplicates"`
	LostAtTails int64 `json:"lostAtTails"`
	Reconnects  int64 `json:"reconnects"`
	// Read back by a fresh device per stream at the end: entries read;
	// lost = acknowledged − read; unexpected = read, never sent;
	// recovered = read, sent, never acknowledged (allowed);
	// duplicateEntries = one push stored twice; oplogIdMismatches = stored
	// under another oplog id than its answer said; orderViolations = a
	// writer's entries out of its order (read back or at a tail).
	Read              int64    `json:"read"`
	Lost              int64    `json:"lost"`
	Unexpected        int64    `json:"unexpected"`
	Recovered         int64    `json:"recovered"`
	DuplicateEntries  int64    `json:"duplicateEntries"`
	OplogIDMismatches int64    `json:"oplogIdMismatches"`
	OrderViolations   int64    `json:"orderViolations"`
	Examples          []string `json:"examples,omitempty"`
	RestartMs         Latency  `json:"restartToReadyMs"`
	Seconds           float64  `json:"seconds"`
	Error             string   `json:"error,omitempty"`
	// Set is the node-set soak's own part (--nodes > 1).
	Set *ChaosSetReport `json:"set,omitempty"`
}

// Failed implements Report: any must-be-0 count not 0, nothing
// acknowledged, or an error; for a set, a failed episode or memory check.
func (r *ChaosReport) Failed() bool {
	return r.Set.failed() || r.Lost > 0 || r.Unexpected > 0 || r.DuplicateEntries > 0 || r.OplogIDMismatches > 0 || r.OrderViolations > 0 ||
		r.LostAtTails > 0 || r.Acknowledged == 0 || r.Error != ""
}

func (r *ChaosReport) example(format string, args ...any) {
	if len(r.Examples) < 10 {
		r.Examples = append(r.Examples, fmt.Sprintf(format, args...))
	}
}

func init() {
	register(&Scenario{Name: "chaos", Spawns: true, Summary: "crash harness: kill -9 under push and tail load, then count lost, unexpected, duplicate and reordered writes",
		Bind: func(fs *flag.FlagSet) func(context.Context, *Env) (Report, error) {
			c := &ChaosConfig{}
			c.flags(fs)
			return func(ctx context.Context, env *Env) (Report, error) { return report(RunChaos(ctx, env, *c)) }
		}})
}

// life is the node's address and whether it is up, as writers and tails
// see it.
type life struct {
	mu  sync.Mutex
	url string
	up  chan struct{} // closed while the node is up
}

func (l *life) get() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.url, l.up
}

func (l *life) down() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.up = make(chan struct{})
}

func (l *life) setUp(url string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.url = url
	close(l.up)
}

// awaitUp waits until the node is up; false when ctx ended.
func (l *life) awaitUp(ctx context.Context) (string, bool) {
	url, up := l.get()
	select {
	case <-up:
		return url, true
	case <-ctx.Done():
		return "", false
	}
}

// chaosWriter pushes "<run>-w<w>-<seq>" with seq 0, 1, 2, … to its stream.
type chaosWriter struct {
	w, stream int
	mu        sync.Mutex
	attempted int            // seqs 0..attempted-1 were sent
	acked     map[int]uint64 // seq -> the oplog id its SUCCESS answered
}

// chaosTail is a client of one stream that acknowledges what it reads and
// reconnects from its sync point when the node goes away.
type chaosTail struct {
	stream     int
	mu         sync.Mutex
	point      uint64
	seen       map[string]uint64 // thirdMsgId -> oplog id
	order      []string          // thirdMsgIds as first received
	deliveries int64
	dups       int64
	reconnects int64
	sentinel   chan struct{}
	once       sync.Once
}

// RunChaos runs chaos; it always spawns its node.
func RunChaos(ctx context.Context, env *Env, c ChaosConfig) (*ChaosReport, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	if c.Set.Nodes > 1 {
		return runChaosSet(ctx, env, c)
	}
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed>>1|1))
	env.Spawn = true // it must control the process
	extra := []string{"--retry-interval", "10m", "--snapshot-every", strconv.Itoa(c.SnapshotEvery)}
	t, err := env.open(ctx, true, extra...)
	if err != nil {
		return nil, err
	}
	defer t.close()
	const biz = "CHAOS"
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.Writers + 4}, Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	apiAt := func(url string) *api { return &api{base: url, hc: hc, creds: env.creds()} }
	// multiDevice: a fresh device reads every retained entry at the end.
	if err := t.setup(ctx, apiAt(t.url), biz, map[string]any{"target": "user", "multiDevice": true}); err != nil {
		return nil, err
	}
	r := &ChaosReport{Scenario: "chaos", Seed: c.Seed, Rounds: c.Rounds, Writers: c.Writers, Streams: c.Streams}
	run := runID()
	user := func(s int) string { return "chaos-" + run + "-u" + strconv.Itoa(s) }
	sentinelID := run + "-sentinel"
	lf := &life{url: t.url, up: make(chan struct{})}
	close(lf.up)
	began := time.Now()

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var acked, attempted, failed, refused atomic.Int64
	var target atomic.Int64
	reached := make(chan struct{}, 1)
	writers := make([]*chaosWriter, c.Writers)
	var wwg sync.WaitGroup
	for w := range writers {
		wr := &chaosWriter{w: w, stream: w % c.Streams, acked: map[int]uint64{}}
		writers[w] = wr
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			var body []byte
			for seq := 0; ; seq++ {
				url, ok := lf.awaitUp(loadCtx)
				if !ok {
					return
				}
				id := wr.id(run, seq)
				body = appendItem(body[:0], biz, user(wr.stream), id, id)
				wr.sent(seq)
				attempted.Add(1)
				ans, err := apiAt(url).push(loadCtx, env.Instance, false, body)
				switch {
				case err != nil:
					failed.Add(1)
				case ans.stored():
					wr.acknowledged(seq, ans.OplogID)
					if acked.Add(1) == target.Load() {
						select {
						case reached <- struct{}{}:
						default:
						}
					}
				default:
					refused.Add(1)
				}
			}
		}()
	}
	tails := make([]*chaosTail, c.Streams)
	var twg sync.WaitGroup
	for s := range tails {
		tl := newChaosTail(s)
		tails[s] = tl
		twg.Add(1)
		go func() {
			defer twg.Done()
			tl.run(loadCtx, lf.pick, env.Instance, user(s), biz, run, sentinelID)
		}()
	}

	restart := &histogram{}
	fail := func(err error) (*ChaosReport, error) {
		r.Error = err.Error()
		stopLoad()
		wwg.Wait()
		twg.Wait()
		return r, nil
	}
	// awaitAcks waits for k more acknowledged pushes.
	awaitAcks := func(k int) error {
		select {
		case <-reached:
		default:
		}
		target.Store(acked.Load() + int64(k))
		timer := time.NewTimer(c.RoundTimeout)
		defer timer.Stop()
		select {
		case <-reached:
			return nil
		case <-timer.C:
			return fmt.Errorf("bench: %d acknowledged pushes, not %d more, within %s", acked.Load(), k, c.RoundTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for round := 1; round <= c.Rounds; round++ {
		k := c.RoundAcks/2 + rng.IntN(c.RoundAcks-c.RoundAcks/2+1)
		if err := awaitAcks(k); err != nil {
			return fail(err)
		}
		lf.down()
		t.srv.Kill()
		r.Kills++
		hc.CloseIdleConnections()
		addr := t.srv.Addr
		t0 := time.Now()
		if err := t.start(ctx, addr, extra...); err != nil {
			env.logf("chaos: restart on %s failed (%v); on another port", addr, err)
			if err := t.start(ctx, "127.0.0.1:0", extra...); err != nil {
				return fail(err)
			}
		}
		rctx, cancel := context.WithTimeout(ctx, c.RoundTimeout)
		err := apiAt(t.url).waitStatus(rctx, "/readyz", 5*time.Millisecond)
		cancel()
		if err != nil {
			return fail(err)
		}
		restart.record(time.Since(t0))
		hc.CloseIdleConnections()
		lf.setUp(t.url)
		env.logf("chaos: round %d/%d: killed after %d acknowledged pushes in all; ready again in %s",
			round, c.Rounds, acked.Load(), time.Since(t0).Round(time.Millisecond))
	}
	// Acknowledged pushes after the last restart too, then quiet.
	if err := awaitAcks(c.RoundAcks / 2); err != nil {
		return fail(err)
	}
	stopLoad()
	wwg.Wait()
	twg.Wait()

	// A sentinel per stream; the tails read up to it, then a fresh device
	// reads each stream from the start.
	ctx2, cancel := context.WithTimeout(ctx, 2*c.RoundTimeout)
	defer cancel()
	a := apiAt(t.url)
	for s := range tails {
		ans, err := a.push(ctx2, env.Instance, false, appendItem(nil, biz, user(s), sentinelID, "end"))
		if err != nil || !ans.stored() {
			return fail(fmt.Errorf("bench: sentinel push: %v %+v", err, ans))
		}
	}
	var fwg sync.WaitGroup
	for s, tl := range tails {
		fwg.Add(1)
		go func() {
			defer fwg.Done()
			tl.run(ctx2, lf.pick, env.Instance, user(s), biz, run, sentinelID)
		}()
	}
	fwg.Wait()
	if err := sentinelsRead(tails); err != nil {
		return fail(err)
	}
	r.Attempted, r.Acknowledged, r.Unanswered, r.Refused = attempted.Load(), acked.Load(), failed.Load(), refused.Load()
	if err := r.readBackAll(ctx2, t.url, "", true, env.Instance, biz, run, user, sentinelID, writers, nil); err != nil {
		return fail(err)
	}
	r.verifyTails(writers, tails, run, nil)
	r.RestartMs = restart.latency()
	r.Seconds = round3(time.Since(began).Seconds())
	return r, nil
}

// sentinelsRead is an error unless every tail has read its sentinel.
func sentinelsRead(tails []*chaosTail) error {
	for _, tl := range tails {
		select {
		case <-tl.sentinel:
		default:
			return fmt.Errorf("bench: tail of stream %d did not read the sentinel", tl.stream)
		}
	}
	return nil
}

// readBackAll reads every stream through url with a fresh device and
// counts what is lost, duplicated, under another oplog id, unexpected and
// out of order (among the entries keep keeps; nil: all); where names the
// node in examples. Read and Recovered count only when tally is set, so
// that reading the same streams through several nodes counts them once.
func (r *ChaosReport) readBackAll(ctx context.Context, url, where string, tally bool, instance, biz, run string, user func(int) string,
	sentinelID string, writers []*chaosWriter, keep func(w, seq int) bool) error {
	streams := 0
	for _, wr := range writers {
		streams = max(streams, wr.stream+1)
	}
	reads := make([]map[string]uint64, streams)
	for s := range reads {
		got, err := readBack(ctx, url, instance, user(s), "reader-"+run+where, biz, sentinelID)
		if err != nil {
			return fmt.Errorf("%s%w", where, err)
		}
		reads[s] = got.ids
		r.DuplicateEntries += got.dupEntries
		if tally {
			r.Read += int64(len(got.ids))
		}
		r.OrderViolations += orderViolations(got.order, run, keep)
	}
	for _, wr := range writers {
		for seq, id := range wr.acked {
			mid := wr.id(run, seq)
			got, ok := reads[wr.stream][mid]
			switch {
			case !ok:
				r.Lost++
				r.example("lost%s: %s (acknowledged as oplog id %d)", where, mid, id)
			case got != id:
				r.OplogIDMismatches++
				r.example("oplog id mismatch%s: %s answered %d, stored %d", where, mid, id, got)
			}
		}
	}
	for s, ids := range reads {
		for mid := range ids {
			w, seq, ok := parseChaosID(mid, run)
			if !ok || w >= len(writers) || writers[w].stream != s || seq >= writers[w].attempted {
				r.Unexpected++
				r.example("unexpected%s: %s in stream %d", where, mid, s)
				continue
			}
			if _, ok := writers[w].acked[seq]; !ok && tally {
				r.Recovered++
			}
		}
	}
	return nil
}

// verifyTails counts what the tails received: deliveries, duplicates,
// acknowledged pushes never received, and entries out of their writer's
// order (among those keep keeps; nil: all).
func (r *ChaosReport) verifyTails(writers []*chaosWriter, tails []*chaosTail, run string, keep func(w, seq int) bool) {
	for _, tl := range tails {
		r.Deliveries += tl.deliveries
		r.Duplicates += tl.dups
		r.OrderViolations += orderViolations(tl.order, run, keep)
		r.Reconnects += tl.reconnects
	}
	for _, wr := range writers {
		for seq := range wr.acked {
			mid := wr.id(run, seq)
			if _, ok := tails[wr.stream].seen[mid]; !ok {
				r.LostAtTails++
				r.example("never reached its tail: %s", mid)
			}
		}
	}
}

func newChaosTail(stream int) *chaosTail {
	return &chaosTail{stream: stream, seen: map[string]uint64{}, sentinel: make(chan struct{})}
}

// sent records that push seq was sent.
func (wr *chaosWriter) sent(seq int) {
	wr.mu.Lock()
	wr.attempted = seq + 1
	wr.mu.Unlock()
}

// acknowledged records push seq's SUCCESS and the oplog id it answered.
func (wr *chaosWriter) acknowledged(seq int, oplogID uint64) {
	wr.mu.Lock()
	wr.acked[seq] = oplogID
	wr.mu.Unlock()
}

// id is the thirdMsgId of the writer's push seq.
func (wr *chaosWriter) id(run string, seq int) string {
	return run + "-w" + strconv.Itoa(wr.w) + "-" + strconv.Itoa(seq)
}

// pickNode answers the node to (re)connect to after tries failed
// attempts; false when ctx ended.
type pickNode func(ctx context.Context, tries int) (string, bool)

// pick is the single node once it is up.
func (l *life) pick(ctx context.Context, _ int) (string, bool) { return l.awaitUp(ctx) }

// run reads the stream until ctx ends, or, once it has read the sentinel,
// returns.
func (tl *chaosTail) run(ctx context.Context, pick pickNode, instance, user, biz, run, sentinelID string) {
	first := true
	for tries := 0; ctx.Err() == nil; tries++ {
		select {
		case <-tl.sentinel:
			return
		default:
		}
		url, ok := pick(ctx, tries)
		if !ok {
			return
		}
		d, err := newDialer(url, 1)
		if err != nil {
			return
		}
		tl.mu.Lock()
		point := tl.point
		tl.mu.Unlock()
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cn, err := d.connect(dctx, connectFrame(instance, user, user+"-tail", map[string]uint64{biz: point}))
		cancel()
		if err != nil {
			select { // the node is going down, or not quite up: try again shortly
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
			continue
		}
		if !first {
			tl.mu.Lock()
			tl.reconnects++
			tl.mu.Unlock()
		}
		first = false
		tl.read(ctx, cn, run, sentinelID)
		cn.close()
	}
}

func (tl *chaosTail) read(ctx context.Context, cn *wsConn, run, sentinelID string) {
	for {
		f, err := cn.next(ctx)
		if err != nil {
			return
		}
		dl := f.GetDeliver()
		if dl == nil {
			continue
		}
		done := false
		tl.mu.Lock()
		for _, m := range dl.Messages {
			tl.deliveries++
			if m.OplogId <= tl.point {
				tl.dups++
				continue
			}
			tl.point = m.OplogId
			if m.ThirdMsgId == sentinelID {
				done = true
				continue
			}
			tl.seen[m.ThirdMsgId] = m.OplogId
			tl.order = append(tl.order, m.ThirdMsgId)
		}
		tl.mu.Unlock()
		if err := cn.ack(ctx, dl.Messages); err != nil {
			return
		}
		if done {
			tl.once.Do(func() { close(tl.sentinel) })
			return
		}
	}
}

// readBack is what a fresh device reads of a stream up to the sentinel.
type readBackResult struct {
	ids        map[string]uint64 // thirdMsgId -> oplog id
	order      []string          // thirdMsgIds in oplog order
	dupEntries int64             // thirdMsgIds read under two oplog ids
}

func readBack(ctx context.Context, url, instance, user, device, biz, sentinelID string) (*readBackResult, error) {
	d, err := newDialer(url, 1)
	if err != nil {
		return nil, err
	}
	cn, err := d.connect(ctx, connectFrame(instance, user, device, map[string]uint64{biz: 0}))
	if err != nil {
		return nil, fmt.Errorf("bench: read-back connect: %w", err)
	}
	defer cn.close()
	res := &readBackResult{ids: map[string]uint64{}}
	var last uint64
	for {
		f, err := cn.next(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench: read-back of %s after %d entries: %w", user, len(res.ids), err)
		}
		dl := f.GetDeliver()
		if dl == nil {
			continue
		}
		for _, m := range dl.Messages {
			if m.OplogId <= last {
				continue // redelivered on this connection
			}
			last = m.OplogId
			if m.ThirdMsgId == sentinelID {
				return res, cn.ack(ctx, dl.Messages)
			}
			if m.Payload != m.ThirdMsgId {
				m.ThirdMsgId += " (payload " + m.Payload + ")" // never sent so: unexpected
			}
			if _, dup := res.ids[m.ThirdMsgId]; dup {
				res.dupEntries++
				continue
			}
			res.ids[m.ThirdMsgId] = m.OplogId
			res.order = append(res.order, m.ThirdMsgId)
		}
		if err := cn.ack(ctx, dl.Messages); err != nil {
			return nil, err
		}
	}
}

// parseChaosID splits "<run>-w<w>-<seq>".
func parseChaosID(id, run string) (w, seq int, ok bool) {
	rest, ok := strings.CutPrefix(id, run+"-w")
	if !ok {
		return 0, 0, false
	}
	ws, ss, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, 0, false
	}
	w, err1 := strconv.Atoi(ws)
	seq, err2 := strconv.Atoi(ss)
	return w, seq, err1 == nil && err2 == nil && w >= 0 && seq >= 0
}

// orderViolations counts entries, in oplog order, whose writer's sequence
// number is not above that writer's previous one, among the entries keep
// keeps (nil: all).
func orderViolations(order []string, run string, keep func(w, seq int) bool) int64 {
	last := map[int]int{}
	var n int64
	for _, id := range order {
		w, seq, ok := parseChaosID(id, run)
		if !ok || (keep != nil && !keep(w, seq)) {
			continue
		}
		if prev, seen := last[w]; seen && seq <= prev {
			n++
		}
		last[w] = seq
	}
	return n
}
