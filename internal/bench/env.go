package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Env is where a scenario runs: a running node, or one spawned for it.
type Env struct {
	// Server is a running node's base URL, used unless Spawn.
	Server string
	// Spawn starts a node from Binary on a fresh data directory (removed
	// afterwards unless KeepData), with ServeArgs.
	Spawn     bool
	Binary    string
	ServeArgs []string
	KeepData  bool
	// Instance is the instance the scenario uses (created if missing);
	// each scenario has its own bizType.
	Instance string
	// AdminToken authenticates to the admin API; a spawned node gets it
	// (or a generated one). APIKey is the instance's push API key (default:
	// the one the admin API answers when the run creates the instance).
	AdminToken string
	APIKey     string

	// nodeLogs, if set, is a directory receiving the stderr of each node
	// of a spawned set (node<i>.log).
	nodeLogs string

	credsOnce sync.Once
	cr        *creds
	// Log receives progress lines; Progress is their interval (0: only
	// phase lines).
	Log      io.Writer
	Progress time.Duration
}

// Flags declares the environment's flags on fs, all but --server,
// --admin-token and --api-key: the CLI's own, which set Server, AdminToken
// and APIKey (it keeps the credentials of the environment out of usage).
func (e *Env) Flags(fs *flag.FlagSet) {
	fs.BoolVar(&e.Spawn, "spawn", e.Spawn, "start an opsync node (this binary, or --opsync-bin) on a temporary data directory for the run")
	fs.StringVar(&e.Binary, "opsync-bin", e.Binary, "opsync binary that --spawn starts (default: this executable)")
	fs.Var((*stringList)(&e.ServeArgs), "serve-arg", "extra `flag` for the spawned node's serve command (repeatable), e.g. --serve-arg=--client-window=1024")
	fs.BoolVar(&e.KeepData, "keep-data", false, "keep the spawned node's data directory")
	fs.StringVar(&e.Instance, "instance", "bench_APP", "instance id (created if missing)")
	fs.DurationVar(&e.Progress, "progress", 2*time.Second, "interval of progress lines on stderr (0: phase lines only)")
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func (e *Env) logf(format string, args ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, "bench: "+format+"\n", args...)
	}
}

// connecting is the progress callback of a scenario opening total
// connections: a line per step while progress lines are on.
func (e *Env) connecting(scenario string, total int) func(n int) {
	return func(n int) {
		if e.Progress > 0 {
			e.logf("%s: %d/%d connected", scenario, n, total)
		}
	}
}

// ticker calls f every Progress until the returned stop is called.
func (e *Env) ticker(f func()) (stop func()) {
	if e.Progress <= 0 || e.Log == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(e.Progress)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				f()
			}
		}
	}()
	return func() { close(done); <-finished }
}

// target is the node a scenario runs against, or the nodes of a spawned
// set (--nodes N): then srv and url are its first node's, set all of them.
type target struct {
	env *Env
	url string
	srv *Server   // nil for a node the bench did not spawn
	set []*Server // a spawned set's nodes (srv is set[0]); nil for one node
	// setOpts are how each node of a spawned set was started (restartNode).
	setOpts  []SpawnOptions
	logFiles []*os.File
	dir      string // the spawned node's data directory (a set's: its nodes' parent)
	temp     bool   // dir is the bench's own, removed at close
}

// errNeedSpawn is returned by scenarios that must control the process.
var errNeedSpawn = errors.New("bench: this scenario starts and stops its own node: use --spawn")

// open returns the node to run against: a spawned one if e.Spawn (or
// mustSpawn), with extra serve flags, else e.Server.
func (e *Env) open(ctx context.Context, mustSpawn bool, extra ...string) (*target, error) {
	if !e.Spawn {
		if mustSpawn {
			return nil, errNeedSpawn
		}
		if e.Server == "" {
			return nil, errors.New("bench: --server URL or --spawn is required")
		}
		return &target{env: e, url: strings.TrimRight(e.Server, "/")}, nil
	}
	dir, err := os.MkdirTemp("", "opsync-bench-")
	if err != nil {
		return nil, err
	}
	t := &target{env: e, dir: dir, temp: !e.KeepData}
	if err := t.start(ctx, "127.0.0.1:0", extra...); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// start (re)starts the spawned node on its data directory.
func (t *target) start(ctx context.Context, addr string, extra ...string) error {
	bin := t.env.Binary
	if bin == "" {
		bin = executable()
	}
	args := append(append([]string{}, t.env.ServeArgs...), extra...)
	srv, err := Spawn(ctx, SpawnOptions{Binary: bin, DataDir: t.dir, HTTPAddr: addr, Args: args, AdminToken: t.env.creds().adminToken})
	if err != nil {
		return err
	}
	t.srv, t.url = srv, srv.URL
	t.env.logf("spawned node pid %d at %s (data %s), listening after %s", srv.PID, srv.URL, t.dir, srv.Listening.Sub(srv.Started).Round(time.Millisecond))
	return nil
}

// pid is the spawned node's process id, 0 for a node not spawned.
func (t *target) pid() int {
	if t.srv == nil {
		return 0
	}
	return t.srv.PID
}

// nodes is how many nodes the run uses.
func (t *target) nodes() int { return max(len(t.set), 1) }

// urls are the nodes' base URLs, the first node's first.
func (t *target) urls() []string {
	if len(t.set) == 0 {
		return []string{t.url}
	}
	out := make([]string, len(t.set))
	for i, s := range t.set {
		out[i] = s.URL
	}
	return out
}

// pids are the spawned nodes' process ids (none for a node not spawned).
func (t *target) pids() []int {
	if len(t.set) == 0 {
		if t.srv == nil {
			return nil
		}
		return []int{t.srv.PID}
	}
	out := make([]int, len(t.set))
	for i, s := range t.set {
		out[i] = s.PID
	}
	return out
}

// rss is the spawned nodes' resident set size, summed.
func (t *target) rss() int64 {
	var sum int64
	for _, pid := range t.pids() {
		if n, err := processRSS(pid); err == nil {
			sum += n
		}
	}
	return sum
}

func (t *target) close() {
	defer func() {
		for _, f := range t.logFiles {
			f.Close()
		}
	}()
	if len(t.set) > 0 {
		var wg sync.WaitGroup
		for _, s := range t.set {
			if s != nil {
				wg.Add(1)
				go func() { defer wg.Done(); s.Stop(10 * time.Second) }()
			}
		}
		wg.Wait()
	} else if t.srv != nil {
		t.srv.Stop(10 * time.Second)
	}
	if t.temp && t.dir != "" {
		os.RemoveAll(t.dir)
	} else if t.dir != "" {
		t.env.logf("data kept in %s", t.dir)
	}
}

// setup waits until the node is ready to route requests and makes sure
// the instance exists with biz configured as cfg.
func (t *target) setup(ctx context.Context, a *api, biz string, cfg map[string]any) error {
	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := t.ready(c, a); err != nil {
		return err
	}
	return a.putBizType(c, t.env.Instance, biz, cfg)
}

// ready waits until every node is ready to route requests and makes sure
// the instance exists.
func (t *target) ready(ctx context.Context, a *api) error {
	for _, u := range t.urls() {
		na := newAPI(u, a.creds, 1)
		err := na.waitStatus(ctx, "/readyz", 20*time.Millisecond)
		na.close()
		if err != nil {
			return err
		}
	}
	return a.ensureInstance(ctx, t.env.Instance)
}

// api returns an API caller of the target's (first) node, with the run's
// credentials, keeping up to conns connections open.
func (t *target) api(conns int) *api { return newAPI(t.url, t.env.creds(), conns) }

// apis returns an API caller of each node (see api), the first node's first.
func (t *target) apis(conns int) []*api {
	var out []*api
	for _, u := range t.urls() {
		out = append(out, newAPI(u, t.env.creds(), conns))
	}
	return out
}

// runID tells one run's message ids from another's on a shared node.
func runID() string { return fmt.Sprintf("%x", time.Now().UnixNano()) }
