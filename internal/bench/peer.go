package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// The peer of `opsync bench fanout --peer centrifuge`: a server on
// Centrifugo's core library (github.com/centrifugal/centrifuge), in the
// module bench/peers/centrifuge of its own so that opsync does not carry
// it. The bench builds it with `go build` (or takes --peer-bin), spawns it
// on 127.0.0.1, connects the same clients speaking centrifuge's JSON
// protocol, publishes the same payloads over its HTTP publish endpoints at
// the same rate, and reports in the same FanoutReport.

const (
	peerCentrifuge = "centrifuge"
	// peerModuleDir is the peer's module directory in the repository, and
	// peerModule its module path.
	peerModuleDir = "bench/peers/centrifuge"
	peerModule    = "github.com/opsync/opsync/bench/peers/centrifuge"
	// peerNote says how the peer was set up and where it differs from opsync.
	peerNote = "centrifuge v0.40.1 peer (bench/peers/centrifuge): WebSocket, JSON protocol, memory broker, history 100 / 10 min " +
		"kept in memory, recovery on; clients do not acknowledge (opsync fsyncs every entry and has every delivery acknowledged)"
)

func peerBinFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "peer-bin", "", "peer server binary (default: go build of "+peerModuleDir+" into a temporary directory)")
}

// peerSource finds the peer's module directory: in the repository holding
// the working directory, else in the one this package was compiled from.
func peerSource() (string, error) {
	var tried []string
	try := func(root string) (string, bool) {
		dir := filepath.Join(root, filepath.FromSlash(peerModuleDir))
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module "+peerModule+"\n")) {
			return dir, true
		}
		tried = append(tried, dir)
		return "", false
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if dir, ok := try(d); ok {
				return dir, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
		tried = append(tried[:0], "every "+peerModuleDir+" from "+wd+" up")
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if dir, ok := try(filepath.Join(filepath.Dir(file), "..", "..")); ok {
			return dir, nil
		}
	}
	return "", fmt.Errorf("bench: the peer server's source (module %s) is not in %v: run from the opsync repository or give --peer-bin", peerModule, tried)
}

// buildPeer builds the peer server into dir and returns the binary's path.
func buildPeer(ctx context.Context, dir string) (string, error) {
	src, err := peerSource()
	if err != nil {
		return "", err
	}
	return buildPeerFrom(ctx, src, dir)
}

// buildPeerFrom is buildPeer from the module in src.
func buildPeerFrom(ctx context.Context, src, dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("bench: building the %s peer needs the go command (%v); or give a built one with --peer-bin", peerCentrifuge, err)
	}
	bin := filepath.Join(dir, "opsync-bench-peer-"+peerCentrifuge)
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench: building the %s peer (go build in %s) failed: %v\n%s\n(or give a built one with --peer-bin)",
			peerCentrifuge, src, err, bytes.TrimSpace(out))
	}
	return bin, nil
}

// peerBinary is bin, or when empty a peer built for the run into a
// temporary directory that done removes.
func (e *Env) peerBinary(ctx context.Context, bin string) (path string, done func(), err error) {
	if bin != "" {
		return bin, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "opsync-bench-peer-")
	if err != nil {
		return "", func() {}, err
	}
	done = func() { os.RemoveAll(dir) }
	t0 := time.Now()
	e.logf("building the %s peer (go build of %s)", peerCentrifuge, peerModuleDir)
	if bin, err = buildPeer(ctx, dir); err != nil {
		done()
		return "", func() {}, err
	}
	e.logf("built the %s peer in %s", peerCentrifuge, time.Since(t0).Round(time.Millisecond))
	return bin, done, nil
}

// startPeer spawns the peer server for a run, from bin or built for it;
// stop stops it and removes what was built.
func (e *Env) startPeer(ctx context.Context, bin string) (srv *Server, stop func(), err error) {
	bin, done, err := e.peerBinary(ctx, bin)
	if err != nil {
		return nil, nil, err
	}
	if srv, err = spawnPeer(ctx, bin); err != nil {
		done()
		return nil, nil, err
	}
	return srv, func() { srv.Stop(10 * time.Second); done() }, nil
}

// spawnPeer starts the peer server on a free port of 127.0.0.1.
func spawnPeer(ctx context.Context, bin string) (*Server, error) {
	return startProcess(ctx, bin, []string{"--http", "127.0.0.1:0"}, nil, nil, 30*time.Second, func(line string) (string, string, bool) {
		var l struct{ Listening string }
		if json.Unmarshal([]byte(line), &l) != nil || l.Listening == "" {
			return "", "", false
		}
		return "http://" + l.Listening, l.Listening, true
	})
}

// cfConn is a client connection speaking centrifuge's JSON protocol:
// commands and replies are JSON objects, several to a WebSocket frame
// separated by newlines; an empty reply {} is a ping the client answers
// with an empty command.
type cfConn struct {
	ws *websocket.Conn
}

// cfReply is the part of a centrifuge reply the bench reads.
type cfReply struct {
	ID    uint32 `json:"id"`
	Error *struct {
		Code    uint32 `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Push *struct {
		Channel string `json:"channel"`
		Pub     *struct {
			Data   json.RawMessage `json:"data"`
			Offset uint64          `json:"offset"`
		} `json:"pub"`
		Unsubscribe *cfCode `json:"unsubscribe"`
		Disconnect  *cfCode `json:"disconnect"`
	} `json:"push"`
}

type cfCode struct {
	Code   uint32 `json:"code"`
	Reason string `json:"reason"`
}

// dialCentrifuge connects as user, sends the connect command, subscribes
// to channel and waits for both replies.
func dialCentrifuge(ctx context.Context, d *dialer, user, channel string) (*cfConn, error) {
	ws, _, err := websocket.Dial(ctx, d.ws[0]+"?user="+url.QueryEscape(user), &websocket.DialOptions{HTTPClient: d.client()})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(16 << 20)
	cn := &cfConn{ws: ws}
	ch, _ := json.Marshal(channel)
	for id, cmd := range []string{`{"id":1,"connect":{}}`, `{"id":2,"subscribe":{"channel":` + string(ch) + `}}`} {
		if err := cn.ws.Write(ctx, websocket.MessageText, []byte(cmd)); err != nil {
			ws.CloseNow()
			return nil, err
		}
		if err := cn.await(ctx, uint32(id+1)); err != nil {
			ws.CloseNow()
			return nil, err
		}
	}
	return cn, nil
}

// await reads until the reply to command id.
func (c *cfConn) await(ctx context.Context, id uint32) error {
	var answered bool
	for !answered {
		err := c.read(ctx, func(r *cfReply) error {
			if r.ID != id {
				return nil
			}
			answered = true
			if r.Error != nil {
				return fmt.Errorf("bench: centrifuge refused command %d: %d %s", id, r.Error.Code, r.Error.Message)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// read reads one frame and calls f with each reply in it, answering pings.
// A disconnect or unsubscribe push is an error.
func (c *cfConn) read(ctx context.Context, f func(*cfReply) error) error {
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return err
	}
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		line = bytes.TrimSpace(line)
		switch {
		case len(line) == 0:
			continue
		case string(line) == "{}": // ping
			if err := c.ws.Write(ctx, websocket.MessageText, []byte("{}")); err != nil {
				return err
			}
			continue
		}
		var r cfReply
		if err := json.Unmarshal(line, &r); err != nil {
			return fmt.Errorf("bench: centrifuge reply %.200q: %w", line, err)
		}
		if p := r.Push; p != nil && p.Disconnect != nil {
			return fmt.Errorf("bench: centrifuge disconnected the client: %d %s", p.Disconnect.Code, p.Disconnect.Reason)
		}
		if p := r.Push; p != nil && p.Unsubscribe != nil {
			return fmt.Errorf("bench: centrifuge unsubscribed the client from %s: %d %s", p.Channel, p.Unsubscribe.Code, p.Unsubscribe.Reason)
		}
		if err := f(&r); err != nil {
			return err
		}
	}
	return nil
}

func (c *cfConn) close() { c.ws.CloseNow() }

// pubPayload is a publication's data as the publisher sent it: the JSON
// string the peer wrapped it into, unquoted (stamps and the warm-up "w"
// need no escapes).
func pubPayload(data json.RawMessage) string {
	if len(data) >= 2 && data[0] == '"' && data[len(data)-1] == '"' {
		return string(data[1 : len(data)-1])
	}
	return string(data)
}

// peerPublish publishes over the peer's HTTP API: one body to channel
// (POST /publish), or a batch (POST /publish/batch).
func peerPublish(ctx context.Context, a *api, channel string, body []byte) error {
	path := "/publish/batch"
	if channel != "" {
		path = "/publish?channel=" + url.QueryEscape(channel)
	}
	var ans struct {
		Failed int    `json:"failed"`
		Error  string `json:"error"`
	}
	st, err := a.do(ctx, http.MethodPost, path, body, &ans)
	switch {
	case err != nil:
		return err
	case st != http.StatusOK || ans.Failed > 0 || ans.Error != "":
		return fmt.Errorf("centrifuge publish: HTTP %d, %d failed %s", st, ans.Failed, ans.Error)
	}
	return nil
}

// appendPeerItems appends the batch body publishing data(i) to channel(i)
// for i in [lo, hi); the strings are plain ASCII.
func appendPeerItems(b []byte, lo, hi int, channel func(i int) string, data func(i int) string) []byte {
	b = append(b, `{"items":[`...)
	for i := lo; i < hi; i++ {
		if i > lo {
			b = append(b, ',')
		}
		b = append(b, `{"channel":`...)
		b = strconv.AppendQuote(b, channel(i))
		b = append(b, `,"data":`...)
		b = strconv.AppendQuote(b, data(i))
		b = append(b, '}')
	}
	return append(b, `]}`...)
}

// runPeerFanout is RunFanout against the peer server (spawned for the run;
// --server and --spawn do not apply): the same clients,
// each subscribed to its own channel (user mode) or to one shared channel
// (global mode), the same payloads at the same offered rate; user mode
// publishes Batch items per request like opsync's batch API, global mode
// one publication per request.
func runPeerFanout(ctx context.Context, env *Env, c FanoutConfig) (*FanoutReport, error) {
	srv, stopPeer, err := env.startPeer(ctx, c.PeerBin)
	if err != nil {
		return nil, err
	}
	defer stopPeer()
	env.logf("spawned the %s peer pid %d at %s, listening after %s", c.Peer, srv.PID, srv.URL, srv.Listening.Sub(srv.Started).Round(time.Millisecond))

	r := &FanoutReport{Scenario: "fanout", Server: c.Peer, Nodes: 1, Mode: c.Mode, Clients: c.Clients, PushesPerClient: c.Pushes,
		Expected: int64(c.Clients) * int64(c.Pushes), OfferedPerSec: c.Rate}
	if c.Mode == "user" {
		r.Note = fmt.Sprintf("%s; per-user publications through POST /publish/batch (%d items per request, each to a different client's channel)", peerNote, c.Batch)
	} else {
		r.Note = peerNote + "; global: one publication per POST /publish to the one channel every client is subscribed to"
	}
	prefix := "fan" + runID()
	channel := func(i int) string { return fleetUser(prefix, i) }
	if c.Mode == "global" {
		channel = func(int) string { return prefix + "-all" }
	}
	r.SourceAddrs = c.Sources
	if r.SourceAddrs <= 0 {
		r.SourceAddrs = sourcesFor(c.Clients + 2*c.Concurrency)
	}
	d, err := newWSDialer([]string{srv.URL}, "/connection/websocket", r.SourceAddrs)
	if err != nil {
		return nil, err
	}
	a := newAPI(srv.URL, nil, c.Concurrency+2)
	defer a.close()

	// Every client reads from the moment it is subscribed (it must answer
	// the server's pings) and records latencies; there is nothing to
	// acknowledge. Warm-up publications (payload "w") only count towards
	// warmed.
	runCtx, stopRun := context.WithCancel(ctx)
	var readers sync.WaitGroup
	var conns []*cfConn
	defer func() {
		stopRun()
		for _, cn := range conns {
			cn.close()
		}
		readers.Wait()
	}()
	epoch := time.Now()
	h := &histogram{}
	var delivered, dups, disconnects, warmed atomic.Int64
	var firstErr atomic.Value
	allWarm, allDone := make(chan struct{}), make(chan struct{})
	var warmOnce, doneOnce sync.Once
	receive := func(i int, cn *cfConn) {
		defer readers.Done()
		var last uint64
		warm := false
		for {
			n := int64(0)
			err := cn.read(runCtx, func(rp *cfReply) error {
				if rp.Push == nil || rp.Push.Pub == nil {
					return nil
				}
				now := time.Since(epoch)
				p := rp.Push.Pub
				if p.Offset <= last {
					dups.Add(1)
					return nil
				}
				last = p.Offset
				if at, ok := sentAt(pubPayload(p.Data)); ok {
					h.record(now - at)
					n++
				} else if !warm {
					warm = true
					if warmed.Add(1) == int64(c.Clients) {
						warmOnce.Do(func() { close(allWarm) })
					}
				}
				return nil
			})
			if n > 0 && delivered.Add(n) == r.Expected {
				doneOnce.Do(func() { close(allDone) })
			}
			if err != nil {
				if runCtx.Err() == nil {
					disconnects.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("client %d: %v", i, err))
				}
				return
			}
		}
	}

	// Connect and subscribe.
	env.logf("fanout: connecting %d clients to the %s peer (%d at a time, %d source addresses)", c.Clients, c.Peer, c.ConnectConc, r.SourceAddrs)
	t0 := time.Now()
	conns, err = openConns(ctx, c.Clients, c.ConnectConc, func(ctx context.Context, i int) (*cfConn, error) {
		cn, err := dialCentrifuge(ctx, d, fleetUser(prefix, i), channel(i))
		if err == nil {
			readers.Add(1)
			go receive(i, cn)
		}
		return cn, err
	}, env.connecting("fanout", c.Clients))
	if err != nil {
		return nil, err
	}
	r.ConnectSeconds = round3(time.Since(t0).Seconds())
	r.ConnectsPerSec = rate(int64(c.Clients), time.Since(t0))

	// Warm up: one publication per channel, so that every client has
	// received one before the clock starts.
	env.logf("fanout: warming up")
	if err := peerWarmUp(ctx, a, c, channel); err != nil {
		return nil, err
	}
	warmTimer := time.NewTimer(c.Timeout)
	defer warmTimer.Stop()
	select {
	case <-allWarm:
	case <-warmTimer.C:
		return nil, fmt.Errorf("bench: only %d of %d clients received the warm-up publication within %s", warmed.Load(), c.Clients, c.Timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}

	// Publish, paced to the offered rate.
	env.logf("fanout: publishing (%s mode, %d publications per client)", c.Mode, c.Pushes)
	ph := &histogram{}
	var pushErrs atomic.Int64
	cpu := startCPU(srv.PID)
	start := time.Now()
	stop := env.ticker(func() {
		env.logf("fanout: %d/%d delivered, %.0f/s", delivered.Load(), r.Expected, float64(delivered.Load())/time.Since(start).Seconds())
	})
	units, perUnit := c.Pushes, c.Clients // publish requests, and deliveries each causes
	if c.Mode == "user" {
		units, perUnit = (c.Clients*c.Pushes+c.Batch-1)/c.Batch, c.Batch
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
				if c.Rate > 0 {
					due := start.Add(time.Duration(float64(u) * float64(perUnit) / float64(c.Rate) * float64(time.Second)))
					if wait := time.Until(due); wait > 0 {
						time.Sleep(wait) // pacing, not synchronisation
					}
				}
				t0 := time.Now()
				var err error
				if c.Mode == "global" {
					err = peerPublish(runCtx, a, channel(0), []byte(stamp(sb, epoch, c.PayloadSize)))
				} else {
					lo, hi := u*perUnit, min((u+1)*perUnit, c.Clients*c.Pushes)
					body = appendPeerItems(body[:0], lo, hi, func(i int) string { return channel(i % c.Clients) },
						func(int) string { return stamp(sb, epoch, c.PayloadSize) })
					err = peerPublish(runCtx, a, "", body)
				}
				ph.record(time.Since(t0))
				if err != nil && runCtx.Err() == nil {
					pushErrs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	pwg.Wait()
	r.PushSeconds = round3(time.Since(start).Seconds())
	timer := time.NewTimer(c.Timeout)
	defer timer.Stop()
	select {
	case <-allDone:
	case <-timer.C:
		env.logf("fanout: timed out with %d of %d delivered", delivered.Load(), r.Expected)
	case <-ctx.Done():
	}
	elapsed := time.Since(start)
	stop()
	benchCPU, serverCPU := cpu.stop()
	r.BenchCPU, r.ServerCPU = benchCPU, &serverCPU
	r.ServerRSSBytes, _ = srv.RSS()
	r.BenchRSSBytes, _ = processRSS(0)
	r.Deliveries, r.Duplicates, r.Disconnects, r.PushErrors = delivered.Load(), dups.Load(), disconnects.Load(), pushErrs.Load()
	r.Missing = r.Expected - r.Deliveries
	r.Seconds = round3(elapsed.Seconds())
	r.DeliveriesPerSec = rate(r.Deliveries, elapsed)
	r.LatencyMs, r.PushRequestMs = h.latency(), ph.latency()
	r.cpuPerDelivery()
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	return r, ctx.Err()
}

// peerWarmUp publishes "w" once to every client's channel (global mode:
// once to the shared one), in batches of 1000, 4 in flight.
func peerWarmUp(ctx context.Context, a *api, c FanoutConfig, channel func(int) string) error {
	if c.Mode == "global" {
		return peerPublish(ctx, a, channel(0), []byte("w"))
	}
	const batch = 1000
	var next atomic.Int64
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body []byte
			for errs[w] == nil {
				lo := int(next.Add(batch) - batch)
				if lo >= c.Clients {
					return
				}
				body = appendPeerItems(body[:0], lo, min(lo+batch, c.Clients), channel, func(int) string { return "w" })
				errs[w] = peerPublish(ctx, a, "", body)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
