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

	"github.com/opsync/opsync/proto/opsyncpb"
)

// FanoutConfig configures fanout: Clients connected clients, each a
// distinct user (and device), receive Pushes entries each, pushed either
// per user (Mode "user": Clients × Pushes entries through the batch API)
// or as global pushes (Mode "global": Pushes entries of a global,
// pushToOnline bizType, each delivered to every client).
type FanoutConfig struct {
	Mode        string
	Clients     int
	Pushes      int
	Rate        int // offered deliveries per second; 0: as fast as the pushers go
	Batch       int
	Concurrency int
	PayloadSize int
	ConnectConc int
	Sources     int
	Timeout     time.Duration
	// Nodes > 1 spawns a set of that many nodes: client i connects to node
	// i mod Nodes, push request u goes to node u mod Nodes.
	Nodes int
	// Peer runs the same load against a peer server instead of opsync
	// ("centrifuge": bench/peers/centrifuge, see peer.go), spawned from
	// PeerBin (default: built with go build for the run).
	Peer    string
	PeerBin string
}

func (c *FanoutConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Mode, "mode", "user", "user: per-user pushes (batch API); global: global pushes to a pushToOnline bizType")
	fs.IntVar(&c.Clients, "clients", 10000, "connected clients, each a distinct user")
	fs.IntVar(&c.Pushes, "pushes", 10, "entries each client receives (user mode: pushed per user; global mode: global pushes)")
	fs.IntVar(&c.Rate, "rate", 200000, "offered deliveries per second (the pushes are paced to it); 0: unpaced")
	fs.IntVar(&c.Batch, "batch", 100, "user mode: items per batch request (consecutive items go to different users)")
	fs.IntVar(&c.Concurrency, "concurrency", 4, "push requests in flight")
	fs.IntVar(&c.PayloadSize, "payload-size", 100, "payload bytes (the send time and padding)")
	fs.IntVar(&c.ConnectConc, "connect-concurrency", 64, "connections being opened at a time")
	fs.IntVar(&c.Sources, "source-addrs", 0, "spread connections over 127.0.0.1..127.0.0.N (0: as the ephemeral port range needs)")
	fs.DurationVar(&c.Timeout, "timeout", 3*time.Minute, "give up waiting for deliveries after this long")
	nodesFlag(fs, &c.Nodes)
}

// peerFlags declares --peer and --peer-bin.
func (c *FanoutConfig) peerFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Peer, "peer", "", "run the same load against a peer server instead of opsync: centrifuge "+
		"(bench/peers/centrifuge, spawned for the run; --server and --spawn do not apply)")
	peerBinFlag(fs, &c.PeerBin)
}

func (c *FanoutConfig) check() error {
	switch {
	case c.Mode != "user" && c.Mode != "global":
		return usageErr("--mode must be user or global")
	case c.Clients < 1 || c.Pushes < 1 || c.Batch < 1 || c.Batch > 1000 || c.Concurrency < 1 || c.ConnectConc < 1 || c.Rate < 0 || c.Nodes < 0:
		return usageErr("--clients, --pushes, --concurrency, --connect-concurrency, --nodes must be positive; --batch 1-1000; --rate >= 0")
	case c.PayloadSize < 24 || c.PayloadSize > 4096:
		return usageErr("--payload-size 24-4096")
	case c.Peer != "" && c.Peer != peerCentrifuge:
		return usageErr("--peer must be " + peerCentrifuge)
	case c.Peer != "" && c.Nodes > 1:
		return usageErr("--peer runs one peer server: no --nodes")
	}
	return checkFiles(c.Clients)
}

// FanoutReport is fanout's report. Latency is from sending the push
// request to the client reading the message, both clocks this process's.
// Nodes is how many nodes took the clients and pushes; ServerCPU and
// ServerRSSBytes are their sums, ServerCPUPerNode each one's CPU.
type FanoutReport struct {
	Scenario         string        `json:"scenario"`
	Server           string        `json:"server"` // opsync, or the peer (centrifuge)
	Nodes            int           `json:"nodes"`
	Mode             string        `json:"mode"`
	Clients          int           `json:"clients"`
	PushesPerClient  int           `json:"pushesPerClient"`
	Expected         int64         `json:"expectedDeliveries"`
	Deliveries       int64         `json:"deliveries"`
	Missing          int64         `json:"missing"`
	Duplicates       int64         `json:"duplicates"`
	Disconnects      int64         `json:"disconnects"`
	PushErrors       int64         `json:"pushErrors"`
	FirstError       string        `json:"firstError,omitempty"`
	OfferedPerSec    int           `json:"offeredDeliveriesPerSec"`
	ConnectSeconds   float64       `json:"connectSeconds"`
	ConnectsPerSec   float64       `json:"connectsPerSec"`
	PushSeconds      float64       `json:"pushSeconds"`
	Seconds          float64       `json:"seconds"`
	DeliveriesPerSec float64       `json:"deliveriesPerSec"`
	LatencyMs        Latency       `json:"latencyMs"`
	PushRequestMs    Latency       `json:"pushRequestLatencyMs"`
	SourceAddrs      int           `json:"sourceAddrs"`
	Note             string        `json:"note"`
	Journal          *JournalStats `json:"journal,omitempty"`
	BenchCPU         Usage         `json:"benchCpu"`
	ServerCPU        *Usage        `json:"serverCpu,omitempty"`
	BenchRSSBytes    int64         `json:"benchRssBytes"`
	ServerRSSBytes   int64         `json:"serverRssBytes,omitempty"`
	ServerCPUPerNode []Usage       `json:"serverCpuPerNode,omitempty"`
	// ServerCPUPerDeliveryUs is the servers' CPU time per delivery, in
	// microseconds (spawned servers only).
	ServerCPUPerDeliveryUs float64 `json:"serverCpuPerDeliveryUs,omitempty"`
}

// cpuPerDelivery sets ServerCPUPerDeliveryUs from ServerCPU and Deliveries.
func (r *FanoutReport) cpuPerDelivery() {
	if r.ServerCPU != nil && r.Deliveries > 0 {
		r.ServerCPUPerDeliveryUs = round1(r.ServerCPU.CPUSeconds * 1e6 / float64(r.Deliveries))
	}
}

// Failed implements Report: deliveries missing, pushes refused, clients
// disconnected. Duplicates (redeliveries of unacknowledged messages) are allowed.
func (r *FanoutReport) Failed() bool {
	return r.Missing > 0 || r.PushErrors > 0 || r.Disconnects > 0
}

func init() {
	register(&Scenario{Name: "fanout", Summary: "N connected clients receiving per-user or global pushes: deliveries/s, push → receive latency",
		Bind: func(fs *flag.FlagSet) func(context.Context, *Env) (Report, error) {
			c := &FanoutConfig{}
			c.flags(fs)
			c.peerFlags(fs)
			return func(ctx context.Context, env *Env) (Report, error) { return report(RunFanout(ctx, env, *c)) }
		}})
}

// stamp encodes a send time (since epoch, monotonic) padded to size.
func stamp(b []byte, epoch time.Time, size int) string {
	b = strconv.AppendInt(b[:0], int64(time.Since(epoch)), 10)
	b = append(b, '.')
	for len(b) < size {
		b = append(b, 'x')
	}
	return string(b)
}

// sentAt decodes a stamp; ok is false for other payloads.
func sentAt(payload string) (time.Duration, bool) {
	i := strings.IndexByte(payload, '.')
	if i <= 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(payload[:i], 10, 64)
	return time.Duration(n), err == nil
}

// RunFanout runs fanout.
func RunFanout(ctx context.Context, env *Env, c FanoutConfig) (*FanoutReport, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.Peer != "" {
		return runPeerFanout(ctx, env, c)
	}
	t, err := env.openSet(ctx, c.Nodes)
	if err != nil {
		return nil, err
	}
	defer t.close()
	as := t.apis(c.Concurrency + 2)
	defer closeAPIs(as)
	a := as[0]
	biz, cfg := "FANOUT", map[string]any{"target": "user"}
	if c.Mode == "global" {
		biz, cfg = "FANOUT-G", map[string]any{"target": "user", "scope": "global", "pushToOnline": true}
	}
	if err := t.setup(ctx, a, biz, cfg); err != nil {
		return nil, err
	}
	batch := c.Mode == "user" && a.hasBatch(ctx, env.Instance)
	r := &FanoutReport{Scenario: "fanout", Server: "opsync", Nodes: t.nodes(), Mode: c.Mode, Clients: c.Clients, PushesPerClient: c.Pushes,
		Expected: int64(c.Clients) * int64(c.Pushes), OfferedPerSec: c.Rate}
	switch {
	case c.Mode == "user" && batch:
		r.Note = fmt.Sprintf("per-user pushes through the batch API (%d items per request, each item a different user's stream); global mode: --mode global", c.Batch)
	case c.Mode == "user":
		r.Note = "per-user single pushes (the node has no batch API)"
	default:
		r.Note = "global pushes of a pushToOnline bizType: each push is delivered to every connected client"
	}
	prefix := "fan" + runID()
	r.SourceAddrs = c.Sources
	if r.SourceAddrs <= 0 {
		r.SourceAddrs = sourcesFor(c.Clients + 2*c.Concurrency)
	}
	d, err := newSetDialer(t.urls(), r.SourceAddrs)
	if err != nil {
		return nil, err
	}

	// Connect.
	env.logf("fanout: connecting %d clients to %d node(s) (%d at a time, %d source addresses)", c.Clients, len(as), c.ConnectConc, r.SourceAddrs)
	t0 := time.Now()
	fl, err := connectFleet(ctx, d, c.Clients, c.ConnectConc, func(i int) *opsyncpb.Connect {
		return connectFrame(env.Instance, fleetUser(prefix, i), fleetDevice(prefix, i), map[string]uint64{biz: 0})
	}, env.connecting("fanout", c.Clients))
	if err != nil {
		return nil, err
	}
	r.ConnectSeconds = round3(time.Since(t0).Seconds())
	r.ConnectsPerSec = rate(int64(c.Clients), time.Since(t0))
	runCtx, stopRun := context.WithCancel(ctx)
	defer func() { stopRun(); fl.close() }()
	fl.keepAlive(runCtx, 20*time.Second)

	// Every client reads, acknowledges each frame and records latencies;
	// warm-up messages (payload "w") only count towards warmed.
	epoch := time.Now()
	h := &histogram{}
	tl := newTally(c.Clients, r.Expected)
	fl.each(func(i int, cn *wsConn) {
		var last uint64
		warm := false
		for {
			f, err := cn.next(runCtx)
			if err != nil {
				tl.lost(runCtx, "client", i, err)
				return
			}
			dl := f.GetDeliver()
			if dl == nil {
				continue
			}
			now := time.Since(epoch)
			n := int64(0)
			for _, m := range dl.Messages {
				if m.OplogId <= last {
					tl.dups.Add(1)
					continue
				}
				last = m.OplogId
				if at, ok := sentAt(m.Payload); ok {
					h.record(now - at)
					n++
				} else if !warm {
					warm = true
					tl.warm()
				}
			}
			if err := cn.ack(runCtx, dl.Messages); err != nil {
				tl.lost(runCtx, "client ack", i, err)
				return
			}
			tl.deliver(n)
		}
	})

	// Warm up: one entry per client, so that every client is attached to
	// its streams before the clock starts.
	env.logf("fanout: warming up")
	run := runID()
	fill := newFiller(ctx, a, env.Instance, 1000, 4)
	var werr error
	if c.Mode == "global" {
		var ans pushAnswer
		ans, werr = a.push(ctx, env.Instance, true, appendItem(nil, biz, "", run+"-w", "w"))
		if werr == nil && !ans.stored() {
			werr = fmt.Errorf("bench: global push answered %s %s", ans.Msg, ans.Detail)
		}
	} else {
		werr = fill.fill(ctx, c.Clients, func(b []byte, i int) []byte {
			return appendItem(b, biz, fleetUser(prefix, i), run+"-w", "w")
		})
	}
	if werr != nil {
		return nil, werr
	}
	warmTimer := time.NewTimer(c.Timeout)
	defer warmTimer.Stop()
	if err := tl.awaitWarm(ctx, warmTimer, "clients"); err != nil {
		return nil, err
	}

	// Push, paced to the offered rate.
	env.logf("fanout: pushing (%s mode, %d entries per client)", c.Mode, c.Pushes)
	ph := &histogram{}
	var pushErrs atomic.Int64
	jm := startJournal(ctx, as...)
	cpu := startCPU(t.pids()...)
	start := time.Now()
	stop := env.ticker(func() {
		env.logf("fanout: %d/%d delivered, %.0f/s", tl.delivered.Load(), r.Expected, float64(tl.delivered.Load())/time.Since(start).Seconds())
	})
	var units, perUnit int // push requests, and deliveries each causes
	if c.Mode == "global" {
		units, perUnit = c.Pushes, c.Clients
	} else {
		per := 1
		if batch {
			per = c.Batch
		}
		units, perUnit = (c.Clients*c.Pushes+per-1)/per, per
	}
	var next atomic.Int64
	var pwg sync.WaitGroup
	for w := 0; w < c.Concurrency; w++ {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			var body, sb []byte
			for runCtx.Err() == nil {
				u := int(next.Add(1) - 1)
				if u >= units {
					return
				}
				pace(start, float64(u)*float64(perUnit), c.Rate)
				var err error
				a := as[u%len(as)] // push requests round-robin over the nodes
				t0 := time.Now()
				switch {
				case c.Mode == "global":
					var ans pushAnswer
					ans, err = a.push(runCtx, env.Instance, true, appendItem(body[:0], biz, "", run+"-"+strconv.Itoa(u), stamp(sb, epoch, c.PayloadSize)))
					if err == nil && !ans.stored() {
						err = fmt.Errorf("global push answered %s %s", ans.Msg, ans.Detail)
					}
				default:
					lo, hi := u*perUnit, min((u+1)*perUnit, c.Clients*c.Pushes)
					body = body[:0]
					for i := lo; i < hi; i++ {
						if i > lo {
							body = append(body, ',')
						}
						body = appendItem(body, biz, fleetUser(prefix, i%c.Clients), run+"-"+strconv.Itoa(i), stamp(sb, epoch, c.PayloadSize))
					}
					if batch {
						var res []pushAnswer
						res, err = a.pushBatch(runCtx, env.Instance, body)
						for _, ans := range res {
							if err == nil && !ans.stored() {
								err = fmt.Errorf("batch item answered %s %s", ans.Msg, ans.Detail)
							}
						}
					} else {
						var ans pushAnswer
						ans, err = a.push(runCtx, env.Instance, false, body)
						if err == nil && !ans.stored() {
							err = fmt.Errorf("push answered %s %s", ans.Msg, ans.Detail)
						}
					}
				}
				ph.record(time.Since(t0))
				if err != nil && runCtx.Err() == nil {
					pushErrs.Add(1)
					tl.fail(err.Error())
				}
			}
		}()
	}
	pwg.Wait()
	r.PushSeconds = round3(time.Since(start).Seconds())
	timer := time.NewTimer(c.Timeout)
	defer timer.Stop()
	tl.awaitDone(ctx, timer, env, "fanout")
	elapsed := time.Since(start)
	stop()
	benchCPU, serverCPU := cpu.stop()
	r.BenchCPU = benchCPU
	if t.srv != nil {
		r.ServerCPU, r.ServerCPUPerNode = &serverCPU, cpu.perNode()
		r.ServerRSSBytes = t.rss()
	}
	r.BenchRSSBytes, _ = processRSS(0)
	r.Journal = jm.stop(ctx)
	r.Deliveries, r.Duplicates, r.Disconnects, r.PushErrors = tl.delivered.Load(), tl.dups.Load(), tl.disconnects.Load(), pushErrs.Load()
	r.Missing = r.Expected - r.Deliveries
	r.Seconds = round3(elapsed.Seconds())
	r.DeliveriesPerSec = rate(r.Deliveries, elapsed)
	r.LatencyMs, r.PushRequestMs = h.latency(), ph.latency()
	r.cpuPerDelivery()
	r.FirstError = tl.firstError()
	return r, ctx.Err()
}
