package bench

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// CardConfig configures card: Cards cards, each open on Viewers
// connections (each a distinct user, a recipient of its card through
// private data of its own), then Updates public updates spread round-robin
// over the cards, paced to Rate a second by Concurrency updaters. Each
// update's public data carries its send time, so the latency is from
// sending the update to a viewer reading the view it makes.
type CardConfig struct {
	Cards       int
	Viewers     int // per card
	Updates     int
	Rate        int // updates per second; 0: as fast as the updaters go
	Concurrency int
	PayloadSize int
	ConnectConc int
	Sources     int
	Timeout     time.Duration
	Nodes       int
	// Dynamic, if set, gives each card dynamic sources answered by a
	// callback server in this process (see CardDynamicConfig).
	Dynamic CardDynamicConfig
}

func (c *CardConfig) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.Cards, "cards", 100, "cards, each opened by --viewers connections")
	fs.IntVar(&c.Viewers, "viewers", 100, "connections per card, each a distinct user with private data on it")
	fs.IntVar(&c.Updates, "updates", 200, "public updates after the viewers opened their cards, round-robin over the cards")
	fs.IntVar(&c.Rate, "rate", 20, "public updates per second over all cards (offered views: rate × viewers); 0: unpaced")
	fs.IntVar(&c.Concurrency, "concurrency", 2, "update requests in flight")
	fs.IntVar(&c.PayloadSize, "payload-size", 100, "bytes of the updated public value (the send time and padding)")
	fs.IntVar(&c.ConnectConc, "connect-concurrency", 64, "connections being opened at a time")
	fs.IntVar(&c.Sources, "source-addrs", 0, "spread connections over 127.0.0.1..127.0.0.N (0: as the ephemeral port range needs)")
	fs.DurationVar(&c.Timeout, "timeout", 3*time.Minute, "give up waiting for views after this long")
	nodesFlag(fs, &c.Nodes)
	c.Dynamic.flags(fs)
}

func (c *CardConfig) check() error {
	switch {
	case c.Cards < 1 || c.Viewers < 1 || c.Updates < 0 || c.Concurrency < 1 || c.ConnectConc < 1 || c.Rate < 0 || c.Nodes < 0:
		return usageErr("--cards, --viewers, --concurrency, --connect-concurrency must be positive; --updates, --rate, --nodes >= 0")
	case c.PayloadSize < 24 || c.PayloadSize > 30000:
		return usageErr("--payload-size 24-30000")
	}
	if err := c.Dynamic.check(); err != nil {
		return err
	}
	return checkFiles(c.Cards * c.Viewers)
}

// CardReport is card's report: the opening of the cards (open → first
// view), the public updates' views (update request sent → viewer read
// it, both clocks this process's), what the server spent on them, and,
// with dynamic sources, the callbacks.
type CardReport struct {
	Scenario       string `json:"scenario"`
	Nodes          int    `json:"nodes"`
	Cards          int    `json:"cards"`
	ViewersPerCard int    `json:"viewersPerCard"`
	Connections    int    `json:"connections"`
	Updates        int    `json:"updates"`
	Expected       int64  `json:"expectedViews"`
	Views          int64  `json:"views"`
	Missing        int64  `json:"missing"`
	Duplicates     int64  `json:"duplicates"`
	OutOfOrder     int64  `json:"outOfOrder"`
	// PrivateWrong counts views without the viewer's own private value
	// or with another key marked private: must be 0.
	PrivateWrong int64  `json:"privateWrong"`
	Denied       int64  `json:"denied"`
	Disconnects  int64  `json:"disconnects"`
	UpdateErrors int64  `json:"updateErrors"`
	FirstError   string `json:"firstError,omitempty"`

	SetupSeconds   float64 `json:"setupSeconds"`
	ConnectSeconds float64 `json:"connectSeconds"`
	// OpensPerSec are the cards opened (first view read) a second while
	// connecting; OpenMs the Open frame → first view latency.
	OpensPerSec     float64 `json:"opensPerSec"`
	OpenMs          Latency `json:"openLatencyMs"`
	OfferedPerSec   int     `json:"offeredViewsPerSec"`
	UpdateSeconds   float64 `json:"updateSeconds"`
	Seconds         float64 `json:"seconds"`
	ViewsPerSec     float64 `json:"viewsPerSec"`
	LatencyMs       Latency `json:"latencyMs"`
	UpdateRequestMs Latency `json:"updateRequestLatencyMs"`

	Dynamic *CardDynamicReport `json:"dynamic,omitempty"`

	SourceAddrs   int    `json:"sourceAddrs"`
	BenchCPU      Usage  `json:"benchCpu"`
	ServerCPU     *Usage `json:"serverCpu,omitempty"`
	BenchRSSBytes int64  `json:"benchRssBytes"`
	// ServerRSSBytes is at the end, with every viewer connected;
	// ServerRSSIdleBytes before the viewers connected; their difference
	// over the connections is ServerBytesPerViewer.
	ServerRSSBytes       int64 `json:"serverRssBytes,omitempty"`
	ServerRSSIdleBytes   int64 `json:"serverRssIdleBytes,omitempty"`
	ServerBytesPerViewer int64 `json:"serverBytesPerViewer,omitempty"`
	// ServerCPUPerViewUs is the servers' CPU time per view during the
	// updates, in microseconds (spawned servers only, without dynamic
	// sources).
	ServerCPUPerViewUs float64 `json:"serverCpuPerViewUs,omitempty"`
}

// Failed implements Report: views missing, twice, out of order or with
// the wrong private data, cards refused, updates refused, viewers
// disconnected, dynamic pulls failed or leaked.
func (r *CardReport) Failed() bool {
	return r.Missing > 0 || r.Duplicates > 0 || r.OutOfOrder > 0 || r.PrivateWrong > 0 || r.Denied > 0 ||
		r.UpdateErrors > 0 || r.Disconnects > 0 || (r.Dynamic != nil && r.Dynamic.failed())
}

func init() {
	register(&Scenario{Name: "card", Summary: "N cards × V viewers receiving public updates (and dynamic data): views/s, update → view latency",
		Bind: func(fs *flag.FlagSet) func(context.Context, *Env) (Report, error) {
			c := &CardConfig{}
			c.flags(fs)
			return func(ctx context.Context, env *Env) (Report, error) { return report(RunCard(ctx, env, *c)) }
		}})
}

// cardID is the outTrackId of a run's card c.
func cardID(prefix string, c int) string { return prefix + "-c" + strconv.Itoa(c) }

// privateKey is the key of each viewer's private data (its user id).
const privateKey = "mine"

// RunCard runs card.
func RunCard(ctx context.Context, env *Env, c CardConfig) (*CardReport, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.Dynamic.Sources > 0 && env.Spawn && !slices.Contains(env.ServeArgs, cardCallbackPrivate) {
		// The bench's callback server is on loopback.
		env.ServeArgs = append(slices.Clip(env.ServeArgs), cardCallbackPrivate)
	}
	t, err := env.openSet(ctx, c.Nodes)
	if err != nil {
		return nil, err
	}
	defer t.close()
	as := t.apis(c.Concurrency + 2)
	defer closeAPIs(as)
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err = t.ready(rctx, as[0])
	cancel()
	if err != nil {
		return nil, err
	}
	n := c.Cards * c.Viewers
	r := &CardReport{Scenario: "card", Nodes: t.nodes(), Cards: c.Cards, ViewersPerCard: c.Viewers, Connections: n,
		Updates: c.Updates, Expected: int64(c.Updates) * int64(c.Viewers), OfferedPerSec: c.Rate * c.Viewers}
	r.SourceAddrs = c.Sources
	if r.SourceAddrs <= 0 {
		r.SourceAddrs = sourcesFor(n + 2*c.Concurrency)
	}
	d, err := newSetDialer(t.urls(), r.SourceAddrs)
	if err != nil {
		return nil, err
	}
	prefix := "card" + runID()
	dyn, err := c.Dynamic.start(ctx, env, as[0], prefix, n)
	if err != nil {
		return nil, err
	}
	defer dyn.close()

	// The cards, and their viewers as recipients through private data
	// (chunked: a request body is bounded).
	env.logf("card: creating %d cards with %d viewers' private data each", c.Cards, c.Viewers)
	t0 := time.Now()
	if err := setupCards(ctx, as, c, prefix, dyn); err != nil {
		return nil, err
	}
	r.SetupSeconds = round3(time.Since(t0).Seconds())
	if t.srv != nil {
		r.ServerRSSIdleBytes = t.rss()
	}

	// Every viewer reads views from the moment it sent its Open: the
	// first (the open) warms it up; each later one must be its card's next
	// version, with the viewer's own private value and no other.
	epoch := time.Now()
	openedAt := make([]atomic.Int64, n) // since epoch
	h, oh := &histogram{}, &histogram{}
	tl := newTally(n, r.Expected)
	var disorder, wrong, denied atomic.Int64
	runCtx, stopRun := context.WithCancel(ctx)
	fl := &fleet{}
	defer func() { stopRun(); fl.close() }()
	read := func(i int, cn *wsConn) {
		var last uint64
		user := fleetUser(prefix, i)
		v := &opsyncpb.CardView{}
		for {
			f, err := cn.next(runCtx)
			if err != nil {
				tl.lost(runCtx, "viewer", i, err)
				return
			}
			if dd := f.GetDynamic(); dd != nil {
				dyn.frame(i, user, dd, time.Since(epoch)-time.Duration(openedAt[i].Load()))
				continue
			}
			st := f.GetState()
			if st == nil || st.Kind != "card" {
				continue
			}
			now := time.Since(epoch)
			if st.Deleted {
				denied.Add(1)
				tl.fail(fmt.Sprintf("viewer %d: card %s answered as not visible", i, st.Id))
				return
			}
			v.Reset()
			if err := proto.Unmarshal(st.Data, v); err != nil {
				wrong.Add(1)
				tl.fail(fmt.Sprintf("viewer %d: view: %v", i, err))
				continue
			}
			if v.CardParamMap[privateKey] != user || len(v.PrivateKeys) != 1 || v.PrivateKeys[0] != privateKey {
				wrong.Add(1)
				tl.fail(fmt.Sprintf("viewer %d: private data %q, private keys %v", i, v.CardParamMap[privateKey], v.PrivateKeys))
			}
			switch {
			case last == 0:
				last = st.Version
				oh.record(now - time.Duration(openedAt[i].Load()))
				tl.warm()
				continue
			case st.Version <= last:
				tl.dups.Add(1)
				continue
			case st.Version != last+1:
				disorder.Add(1)
			}
			last = st.Version
			if at, ok := sentAt(v.CardParamMap["t"]); ok {
				h.record(now - at)
			}
			tl.deliver(1)
		}
	}

	// Connect, and open viewer i's card (i mod Cards) on its connection.
	env.logf("card: connecting %d viewers to %d node(s)", n, len(as))
	t0 = time.Now()
	conns, err := openConns(ctx, n, c.ConnectConc, func(ctx context.Context, i int) (*wsConn, error) {
		cn, err := d.connectAt(ctx, i, connectFrame(env.Instance, fleetUser(prefix, i), fleetDevice(prefix, i), nil))
		if err != nil {
			return nil, err
		}
		open := &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Open{Open: &opsyncpb.Open{Kind: "card", Id: cardID(prefix, i%c.Cards)}}}
		openedAt[i].Store(int64(time.Since(epoch)))
		if err := cn.send(ctx, open); err != nil {
			cn.close()
			return nil, err
		}
		fl.wg.Add(1)
		go func() {
			defer fl.wg.Done()
			read(i, cn)
		}()
		return cn, nil
	}, func(k int) {
		if env.Progress > 0 {
			env.logf("card: %d/%d connected", k, n)
		}
	})
	if err != nil {
		return nil, err
	}
	fl.conns = conns
	fl.keepAlive(runCtx, 20*time.Second)
	deadline := time.Now().Add(c.Timeout)
	timer := time.NewTimer(c.Timeout)
	defer timer.Stop()
	if err := tl.awaitWarm(ctx, timer, "viewers"); err != nil {
		return nil, fmt.Errorf("%w (first error: %s)", err, tl.firstError())
	}
	r.ConnectSeconds = round3(time.Since(t0).Seconds())
	r.OpensPerSec = rate(int64(n), time.Since(t0))
	r.OpenMs = oh.latency()

	// Public updates, round-robin over the cards, paced to the rate.
	env.logf("card: %d updates at %d/s over %d cards", c.Updates, c.Rate, c.Cards)
	uh := &histogram{}
	var updErrs atomic.Int64
	cpu := startCPU(t.pids()...)
	start := time.Now()
	stop := env.ticker(func() {
		env.logf("card: %d/%d views, %.0f/s", tl.delivered.Load(), r.Expected, float64(tl.delivered.Load())/time.Since(start).Seconds())
	})
	var next atomic.Int64
	var uwg sync.WaitGroup
	for range c.Concurrency {
		uwg.Add(1)
		go func() {
			defer uwg.Done()
			var sb []byte
			for runCtx.Err() == nil {
				u := int(next.Add(1) - 1)
				if u >= c.Updates {
					return
				}
				pace(start, float64(u), c.Rate)
				t0 := time.Now()
				err := as[u%len(as)].updateCard(runCtx, cardID(prefix, u%c.Cards), map[string]string{"t": stamp(sb, epoch, c.PayloadSize)}, nil)
				uh.record(time.Since(t0))
				if err != nil && runCtx.Err() == nil {
					updErrs.Add(1)
					tl.fail(err.Error())
				}
			}
		}()
	}
	uwg.Wait()
	r.UpdateSeconds = round3(time.Since(start).Seconds())
	if r.Expected > 0 {
		tl.awaitDone(ctx, timer, env, "card")
	}
	elapsed := time.Since(start)
	stop()
	benchCPU, serverCPU := cpu.stop()
	// With dynamic sources, every viewer's first pull has come, and the
	// cards stay open Hold longer with no updates: the pulls alone,
	// measured on their own.
	dyn.awaitData(ctx, deadline, env)
	dyn.hold(ctx, t)
	r.BenchCPU = benchCPU
	if t.srv != nil {
		r.ServerCPU = &serverCPU
		r.ServerRSSBytes = t.rss()
		if r.ServerRSSBytes > r.ServerRSSIdleBytes {
			r.ServerBytesPerViewer = (r.ServerRSSBytes - r.ServerRSSIdleBytes) / int64(n)
		}
		// With dynamic sources the pulls run during the updates too: the
		// CPU is theirs as much as the views'.
		if v := tl.delivered.Load(); v > 0 && dyn == nil {
			r.ServerCPUPerViewUs = round1(serverCPU.CPUSeconds * 1e6 / float64(v))
		}
	}
	r.Dynamic = dyn.report()
	r.BenchRSSBytes, _ = processRSS(0)
	r.Views, r.Duplicates, r.OutOfOrder = tl.delivered.Load(), tl.dups.Load(), disorder.Load()
	r.PrivateWrong, r.Denied = wrong.Load(), denied.Load()
	r.Disconnects, r.UpdateErrors = tl.disconnects.Load(), updErrs.Load()
	r.Missing = r.Expected - r.Views
	r.Seconds = round3(elapsed.Seconds())
	r.ViewsPerSec = rate(r.Views, elapsed)
	r.LatencyMs, r.UpdateRequestMs = h.latency(), uh.latency()
	r.FirstError = tl.firstError()
	return r, ctx.Err()
}

// setupCards creates the cards and gives each of its viewers private data
// (its user id under privateKey), which makes them recipients.
func setupCards(ctx context.Context, as []*api, c CardConfig, prefix string, dyn *cardDynamic) error {
	const chunk = 200 // users per private-data request
	jobs := make(chan int)
	errs := make(chan error, c.Concurrency)
	var wg sync.WaitGroup
	for w := range c.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := as[w%len(as)]
			for k := range jobs {
				id := cardID(prefix, k)
				if err := a.createCard(ctx, id, prefix+"-creator", map[string]string{"t": "0.", "title": "bench"}, dyn.routeKey(), dyn.sources()); err != nil {
					errs <- err
					return
				}
				for lo := 0; lo < c.Viewers; lo += chunk {
					priv := map[string]cardParams{}
					for j := lo; j < min(lo+chunk, c.Viewers); j++ {
						u := fleetUser(prefix, j*c.Cards+k) // viewer i opens card i mod Cards
						priv[u] = cardParams{map[string]string{privateKey: u}}
					}
					if err := a.updateCard(ctx, id, nil, priv); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	var err error
feed:
	for k := range c.Cards {
		select {
		case jobs <- k:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}
