package bench

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// runPeerConns is RunConns against the peer server (spawned for the run):
// as many idle clients, each connected and subscribed to a channel of its
// own (as each opsync client registers one user-target bizType of its own
// user), answering the server's pings. The peer has no metrics endpoint:
// only its RSS (from /proc) is compared.
func runPeerConns(ctx context.Context, env *Env, c ConnsConfig) (*ConnsReport, error) {
	srv, stop, err := env.startPeer(ctx, c.PeerBin)
	if err != nil {
		return nil, err
	}
	defer stop()
	env.logf("spawned the %s peer pid %d at %s", c.Peer, srv.PID, srv.URL)
	r := &ConnsReport{Scenario: "conns", Server: c.Peer, Clients: c.Clients,
		RSSSource: fmt.Sprintf("VmRSS of /proc/%d/status (the %s peer spawned by the bench)", srv.PID, c.Peer)}

	env.logf("conns: measuring the idle %s peer", c.Peer)
	before, err := settledRSS(ctx, srv, c.Settle)
	if err != nil {
		return nil, err
	}
	r.Before = MemSample{RSSBytes: before}
	benchBefore, _ := processRSS(0)
	r.SourceAddrs = c.Sources
	if r.SourceAddrs <= 0 {
		r.SourceAddrs = sourcesFor(c.Clients)
	}
	d, err := newWSDialer([]string{srv.URL}, "/connection/websocket", r.SourceAddrs)
	if err != nil {
		return nil, err
	}
	runCtx, stopRun := context.WithCancel(ctx)
	var readers sync.WaitGroup
	var conns []*cfConn
	defer func() {
		stopRun()
		for _, cn := range conns {
			if cn != nil {
				cn.close()
			}
		}
		readers.Wait()
	}()
	var disconnects atomic.Int64
	prefix := "conn" + runID()
	env.logf("conns: connecting %d idle clients to the %s peer (%d source addresses)", c.Clients, c.Peer, r.SourceAddrs)
	t0 := time.Now()
	conns, err = openConns(ctx, c.Clients, c.ConnectConc, func(ctx context.Context, i int) (*cfConn, error) {
		cn, err := dialCentrifuge(ctx, d, fleetUser(prefix, i), fleetUser(prefix, i))
		if err == nil {
			readers.Add(1)
			go func() {
				defer readers.Done()
				for {
					if err := cn.read(runCtx, func(*cfReply) error { return nil }); err != nil {
						if runCtx.Err() == nil {
							disconnects.Add(1)
						}
						return
					}
				}
			}()
		}
		return cn, err
	}, env.connecting("conns", c.Clients))
	if err != nil {
		return nil, err
	}
	r.ConnectSeconds = round3(time.Since(t0).Seconds())
	r.ConnectsPerSec = rate(int64(c.Clients), time.Since(t0))
	env.logf("conns: %d connected in %.1fs; waiting for the peer to settle", c.Clients, r.ConnectSeconds)
	connected, err := settledRSS(ctx, srv, c.Settle)
	if err != nil {
		return nil, err
	}
	r.Connected = MemSample{RSSBytes: connected, Connected: int64(c.Clients)}
	benchAfter, _ := processRSS(0)
	n := float64(c.Clients)
	r.BytesPerClient = math.Round(float64(connected-before) / n)
	r.KiBPerClient = round1(r.BytesPerClient / 1024)
	r.BenchBytesPerConn = math.Round(float64(benchAfter-benchBefore) / n)
	env.logf("conns: %.1f KiB per client; disconnecting", r.KiBPerClient)
	stopRun()
	for _, cn := range conns {
		cn.close()
	}
	conns = nil
	readers.Wait()
	r.Disconnects = disconnects.Load()
	if after, err := settledRSS(ctx, srv, c.Settle); err == nil {
		r.AfterClose = MemSample{RSSBytes: after}
	}
	return r, ctx.Err()
}

// settledRSS samples srv's RSS every 500 ms until it moved less than 0.5%
// over the last three samples, or until limit (then the last sample).
func settledRSS(ctx context.Context, srv *Server, limit time.Duration) (int64, error) {
	deadline := time.Now().Add(limit)
	var hist []int64
	for {
		rss, err := srv.RSS()
		if err != nil {
			return 0, err
		}
		hist = append(hist, rss)
		if n := len(hist); (n >= 3 && near(hist[n-3], rss)) || time.Now().After(deadline) {
			return rss, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
