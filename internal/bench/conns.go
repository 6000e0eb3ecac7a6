package bench

import (
	"context"
	"flag"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// ConnsConfig configures conns: the node's resident memory per idle
// connected client.
type ConnsConfig struct {
	Clients     int
	ConnectConc int
	Sources     int
	Settle      time.Duration
	// Peer runs the same clients against a peer server (conns_peer.go).
	Peer    string
	PeerBin string
}

func (c *ConnsConfig) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.Clients, "clients", 10000, "idle clients to connect, each a distinct user with one registered bizType")
	fs.IntVar(&c.ConnectConc, "connect-concurrency", 64, "connections being opened at a time")
	fs.IntVar(&c.Sources, "source-addrs", 0, "spread connections over 127.0.0.1..127.0.0.N (0: as the ephemeral port range needs)")
	fs.DurationVar(&c.Settle, "settle", 30*time.Second, "longest wait for the node's memory to settle at each measuring point")
	fs.StringVar(&c.Peer, "peer", "", "connect the same idle clients to a peer server instead of opsync: centrifuge "+
		"(bench/peers/centrifuge, spawned for the run; --server and --spawn do not apply; RSS only)")
	peerBinFlag(fs, &c.PeerBin)
}

func (c *ConnsConfig) check() error {
	if c.Clients < 1 || c.ConnectConc < 1 || c.Settle <= 0 {
		return usageErr("--clients, --connect-concurrency, --settle must be positive")
	}
	if c.Peer != "" && c.Peer != peerCentrifuge {
		return usageErr("--peer must be " + peerCentrifuge)
	}
	return checkFiles(c.Clients)
}

// MemSample is the node's memory at one point.
type MemSample struct {
	RSSBytes       int64 `json:"rssBytes"`
	HeapInuseBytes int64 `json:"heapInuseBytes"`
	StackBytes     int64 `json:"stackInuseBytes"`
	Goroutines     int64 `json:"goroutines"`
	Connected      int64 `json:"connectedClients"`
}

// ConnsReport is conns' report: per idle client, the node's resident
// memory (RSS) growth, and its Go heap, stack and goroutines for where it
// goes.
type ConnsReport struct {
	Scenario          string    `json:"scenario"`
	Server            string    `json:"server"`
	Clients           int       `json:"clients"`
	RSSSource         string    `json:"rssSource"`
	Before            MemSample `json:"before"`
	Connected         MemSample `json:"connected"`
	AfterClose        MemSample `json:"afterClose"`
	BytesPerClient    float64   `json:"rssBytesPerClient"`
	KiBPerClient      float64   `json:"rssKiBPerClient"`
	HeapPerClient     float64   `json:"heapBytesPerClient"`
	StackPerClient    float64   `json:"stackBytesPerClient"`
	GoroutinesPerConn float64   `json:"goroutinesPerClient"`
	StreamActivations float64   `json:"streamActivations"`
	ConnectSeconds    float64   `json:"connectSeconds"`
	ConnectsPerSec    float64   `json:"connectsPerSec"`
	SourceAddrs       int       `json:"sourceAddrs"`
	BenchBytesPerConn float64   `json:"benchRssBytesPerClient"`
	Disconnects       int64     `json:"disconnects"`
}

// Failed implements Report.
func (r *ConnsReport) Failed() bool { return r.Disconnects > 0 }

func init() {
	register(&Scenario{Name: "conns", Summary: "resident memory per idle connected client (RSS delta / N)",
		Bind: func(fs *flag.FlagSet) func(context.Context, *Env) (Report, error) {
			c := &ConnsConfig{}
			c.flags(fs)
			return func(ctx context.Context, env *Env) (Report, error) { return report(RunConns(ctx, env, *c)) }
		}})
}

// memSampler reads the node's memory: RSS from /proc for a spawned node,
// else from its process_resident_memory_bytes.
type memSampler struct {
	a   *api
	srv *Server
}

func (m *memSampler) sample(ctx context.Context) (MemSample, map[string]float64, error) {
	mt, err := m.a.metrics(ctx)
	if err != nil {
		return MemSample{}, nil, err
	}
	s := MemSample{RSSBytes: int64(mt["process_resident_memory_bytes"]), HeapInuseBytes: int64(mt["go_memstats_heap_inuse_bytes"]),
		StackBytes: int64(mt["go_memstats_stack_inuse_bytes"]), Goroutines: int64(mt["go_goroutines"]), Connected: int64(mt["opsync_connected_clients"])}
	if m.srv != nil {
		if rss, err := m.srv.RSS(); err == nil {
			s.RSSBytes = rss
		}
	}
	return s, mt, nil
}

// settled samples every 500 ms until cond holds and RSS and heap moved
// less than 0.5% over the last three samples, or until limit.
func (m *memSampler) settled(ctx context.Context, limit time.Duration, cond func(MemSample, map[string]float64) bool) (MemSample, map[string]float64, error) {
	deadline := time.Now().Add(limit)
	var hist []MemSample
	for {
		s, mt, err := m.sample(ctx)
		if err != nil {
			return s, mt, err
		}
		if cond == nil || cond(s, mt) {
			hist = append(hist, s)
		} else {
			hist = hist[:0]
		}
		if n := len(hist); n >= 3 && near(hist[n-3].RSSBytes, s.RSSBytes) && near(hist[n-3].HeapInuseBytes, s.HeapInuseBytes) {
			return s, mt, nil
		}
		if time.Now().After(deadline) {
			if len(hist) > 0 {
				return s, mt, nil // conditions hold; memory still moving
			}
			return s, mt, fmt.Errorf("bench: the node did not reach the expected state within %s", limit)
		}
		select {
		case <-ctx.Done():
			return s, mt, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func near(a, b int64) bool { return math.Abs(float64(a-b)) <= 0.005*float64(max(a, b, 1)) }

// RunConns runs conns.
func RunConns(ctx context.Context, env *Env, c ConnsConfig) (*ConnsReport, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.Peer != "" {
		return runPeerConns(ctx, env, c)
	}
	t, err := env.open(ctx, false)
	if err != nil {
		return nil, err
	}
	defer t.close()
	a := t.api(2)
	defer a.close()
	const biz = "CONNS"
	if err := t.setup(ctx, a, biz, map[string]any{"target": "user"}); err != nil {
		return nil, err
	}
	r := &ConnsReport{Scenario: "conns", Server: "opsync", Clients: c.Clients, RSSSource: "process_resident_memory_bytes on /metrics (the node must be otherwise idle)"}
	m := &memSampler{a: a, srv: t.srv}
	if t.srv != nil {
		r.RSSSource = fmt.Sprintf("VmRSS of /proc/%d/status (node spawned by the bench)", t.srv.PID)
	}
	env.logf("conns: measuring the idle node")
	before, mt0, err := m.settled(ctx, c.Settle, nil)
	if err != nil {
		return nil, err
	}
	r.Before = before
	act0 := mt0[`opsync_actor_activations_total{kind="stream"}`]
	benchBefore, _ := processRSS(0)

	r.SourceAddrs = c.Sources
	if r.SourceAddrs <= 0 {
		r.SourceAddrs = sourcesFor(c.Clients)
	}
	d, err := newDialer(t.url, r.SourceAddrs)
	if err != nil {
		return nil, err
	}
	prefix := "conn" + runID()
	env.logf("conns: connecting %d idle clients (%d source addresses)", c.Clients, r.SourceAddrs)
	t0 := time.Now()
	fl, err := connectFleet(ctx, d, c.Clients, c.ConnectConc, func(i int) *opsyncpb.Connect {
		return connectFrame(env.Instance, fleetUser(prefix, i), fleetDevice(prefix, i), map[string]uint64{biz: 0})
	}, env.connecting("conns", c.Clients))
	if err != nil {
		return nil, err
	}
	r.ConnectSeconds = round3(time.Since(t0).Seconds())
	r.ConnectsPerSec = rate(int64(c.Clients), time.Since(t0))
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	fl.keepAlive(runCtx, 20*time.Second)
	var disconnects atomic.Int64
	fl.each(func(i int, cn *wsConn) {
		for {
			if _, err := cn.next(runCtx); err != nil {
				if runCtx.Err() == nil {
					disconnects.Add(1)
				}
				return
			}
		}
	})
	env.logf("conns: %d connected in %.1fs; waiting for the node to settle", c.Clients, r.ConnectSeconds)
	// Connected once the node counts every client and has stopped
	// activating streams.
	lastAct := -1.0
	connected, mt1, err := m.settled(ctx, c.Settle, func(s MemSample, mt map[string]float64) bool {
		act := mt[`opsync_actor_activations_total{kind="stream"}`]
		stable := act == lastAct
		lastAct = act
		return s.Connected >= int64(c.Clients) && stable
	})
	if err != nil {
		stopRun()
		fl.close()
		return nil, err
	}
	r.Connected = connected
	r.StreamActivations = mt1[`opsync_actor_activations_total{kind="stream"}`] - act0
	benchAfter, _ := processRSS(0)
	n := float64(c.Clients)
	r.BytesPerClient = math.Round(float64(connected.RSSBytes-before.RSSBytes) / n)
	r.KiBPerClient = round1(r.BytesPerClient / 1024)
	r.HeapPerClient = math.Round(float64(connected.HeapInuseBytes-before.HeapInuseBytes) / n)
	r.StackPerClient = math.Round(float64(connected.StackBytes-before.StackBytes) / n)
	r.GoroutinesPerConn = round3(float64(connected.Goroutines-before.Goroutines) / n)
	r.BenchBytesPerConn = math.Round(float64(benchAfter-benchBefore) / n)

	env.logf("conns: %.1f KiB per client; disconnecting", r.KiBPerClient)
	stopRun()
	fl.close()
	r.Disconnects = disconnects.Load()
	after, _, err := m.settled(ctx, c.Settle, func(s MemSample, _ map[string]float64) bool { return s.Connected == 0 })
	if err == nil {
		r.AfterClose = after
	}
	return r, ctx.Err()
}
