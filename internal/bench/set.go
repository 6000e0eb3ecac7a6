package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsync/opsync/internal/edge"
	"github.com/opsync/opsync/internal/keyring"
)

// nodesFlag declares --nodes, the size of the spawned node set.
func nodesFlag(fs *flag.FlagSet, n *int) {
	fs.IntVar(n, "nodes", 1, "with --spawn: run on a set of N nodes on 127.0.0.1 (replicated raft journal; 1: one standalone node); "+
		"callers and clients are spread round-robin over the nodes")
}

// openSet is open for a scenario that can run on a spawned node set:
// nodes > 1 spawns a set of that many nodes (it needs --spawn).
func (e *Env) openSet(ctx context.Context, nodes int) (*target, error) {
	if nodes <= 1 {
		return e.open(ctx, false)
	}
	if !e.Spawn {
		return nil, usageErr("--nodes needs --spawn")
	}
	dir, err := os.MkdirTemp("", "opsync-bench-set-")
	if err != nil {
		return nil, err
	}
	t := &target{env: e, dir: dir, temp: !e.KeepData}
	if err := t.startSet(ctx, nodes, setPlan{}); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// setPlan places the nodes of a spawned set; a nil field keeps the
// default.
type setPlan struct {
	host    func(i int) string   // the node's address (default 127.0.0.1)
	wrapper func(i int) []string // the command running it (SpawnOptions.Wrapper)
	dataDir func(i int) string   // its data directory (default t.dir/node<i>)
	extra   func(i int) []string // further serve flags of that node
	// httpPort is the node's HTTP port (default: any free one, a new one
	// at each start). A node cut off from the set restarts itself in
	// place to rejoin (serve re-executes itself): only a fixed port keeps
	// its URL then.
	httpPort func(i int) int
}

// startSet spawns n nodes forming one set on 127.0.0.1 (or where plan puts
// them), as docs/cluster.md describes: static seeds, every node a raft
// voter, free ports, the data directories under t.dir, the run's admin
// token; then waits until the set is ready (waitSet).
func (t *target) startSet(ctx context.Context, n int, plan setPlan) error {
	// The ports freePorts hands out are free only until it closes them: a
	// node's ephemeral HTTP port or any outgoing connection on the machine
	// may take one before its node binds it. Such a start is retried on
	// new ports (fresh data directories: nothing was stored yet).
	for attempt := 1; ; attempt++ {
		err := t.startSetOnce(ctx, n, plan)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return err
		}
		t.env.logf("a port of the set was taken before its node bound it (%v); starting the set again on new ports", err)
		for _, s := range t.set {
			if s != nil {
				s.Kill()
			}
		}
		for _, o := range t.setOpts {
			if o.DataDir != "" {
				os.RemoveAll(o.DataDir)
			}
		}
		for _, f := range t.logFiles {
			f.Close()
		}
		t.logFiles = nil
	}
}

func (t *target) startSetOnce(ctx context.Context, n int, plan setPlan) error {
	bin := t.env.Binary
	if bin == "" {
		bin = executable()
	}
	ports, err := freePorts(3 * n) // per node: remote (its id), seed, raft
	if err != nil {
		return err
	}
	host := func(i int) string {
		if plan.host == nil {
			return "127.0.0.1"
		}
		return plan.host(i)
	}
	addr := func(i, p int) string { return net.JoinHostPort(host(i), strconv.Itoa(p)) }
	var seeds, boot []string
	for i := 0; i < n; i++ {
		seeds = append(seeds, addr(i, ports[3*i+1]))
		boot = append(boot, addr(i, ports[3*i])+"="+addr(i, ports[3*i+2]))
	}
	// Every node of a set must hold the same master key (serve refuses
	// --raft without one).
	keyFile := filepath.Join(t.dir, "master-key")
	if err := os.WriteFile(keyFile, []byte(keyring.Generate()+"\n"), 0o600); err != nil {
		return err
	}
	t.set = make([]*Server, n)
	t.setOpts = make([]SpawnOptions, n)
	errs := make([]error, n)
	t0 := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		args := append(append([]string{}, t.env.ServeArgs...),
			"--remote", addr(i, ports[3*i]), "--seeds", strings.Join(seeds, ","), "--seed-port", strconv.Itoa(ports[3*i+1]),
			"--raft", addr(i, ports[3*i+2]), "--raft-bootstrap", strings.Join(boot, ","), "--master-key-file", keyFile)
		o := SpawnOptions{Binary: bin, DataDir: filepath.Join(t.dir, fmt.Sprintf("node%d", i)), HTTPAddr: addr(i, 0), Args: args,
			AdminToken: t.env.creds().adminToken}
		if plan.httpPort != nil {
			o.HTTPAddr = addr(i, plan.httpPort(i))
		}
		if plan.dataDir != nil {
			o.DataDir = plan.dataDir(i)
		}
		if plan.wrapper != nil {
			o.Wrapper = plan.wrapper(i)
		}
		if plan.extra != nil {
			o.Args = append(o.Args, plan.extra(i)...)
		}
		if t.env.nodeLogs != "" {
			f, err := os.OpenFile(filepath.Join(t.env.nodeLogs, fmt.Sprintf("node%d.log", i)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return err
			}
			t.logFiles = append(t.logFiles, f)
			o.Stderr = f
		}
		t.setOpts[i] = o
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.set[i], errs[i] = Spawn(ctx, o)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("node %d: %w", i, errs[i])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	t.srv, t.url = t.set[0], t.set[0].URL
	leader, err := t.waitSet(ctx, time.Minute)
	if err != nil {
		return err
	}
	var pids []string
	for _, s := range t.set {
		pids = append(pids, fmt.Sprintf("%d at %s", s.PID, s.URL))
	}
	t.env.logf("spawned a set of %d nodes (pids %s; data under %s), ready after %s, raft leader node %d",
		n, strings.Join(pids, ", "), t.dir, time.Since(t0).Round(time.Millisecond), leader)
	return nil
}

// restartNode starts node i of a spawned set again, on its data directory
// and with its command line (a new HTTP port).
func (t *target) restartNode(ctx context.Context, i int) error {
	srv, err := Spawn(ctx, t.setOpts[i])
	if err != nil {
		return fmt.Errorf("node %d: %w", i, err)
	}
	t.set[i] = srv
	if i == 0 {
		t.srv, t.url = srv, srv.URL
	}
	return nil
}

// waitSet waits until every node of the set lists all of them as members
// and all agree on one raft leader among them, and returns the leader's
// index.
func (t *target) waitSet(ctx context.Context, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	as := t.apis(1)
	defer closeAPIs(as)
	last := "no answer yet"
	for {
		leader, why := t.setAgrees(ctx, as)
		if leader >= 0 {
			return leader, nil
		}
		last = why
		select {
		case <-ctx.Done():
			var tails []string
			for i, s := range t.set {
				tail := s.StderrTail()
				tails = append(tails, fmt.Sprintf("node %d's log ends: %s", i, tail[max(len(tail)-600, 0):]))
			}
			return -1, fmt.Errorf("bench: the node set was not ready within %s (last: %s); %s", timeout, last, strings.Join(tails, "; "))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// setAgrees asks every node for its view of the set: the leader's index
// when they agree (see waitSet), else -1 and why not.
func (t *target) setAgrees(ctx context.Context, as []*api) (int, string) {
	for _, s := range t.set {
		select {
		case <-s.Exited():
			return -1, "a node exited: " + s.StderrTail()
		default:
		}
	}
	leader := ""
	var ids []string
	for i, a := range as {
		var st edge.ClusterStatus
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		code, err := a.do(c, http.MethodGet, "/api/v1/cluster", nil, &st)
		cancel()
		switch {
		case err != nil:
			return -1, fmt.Sprintf("node %d: %v", i, err)
		case code != http.StatusOK:
			return -1, fmt.Sprintf("node %d: HTTP %d", i, code)
		case len(st.Members) != len(as) || st.Leader == "" || (leader != "" && st.Leader != leader):
			return -1, fmt.Sprintf("node %d: members %v, leader %q", i, st.Members, st.Leader)
		}
		leader = st.Leader
		ids = append(ids, st.Node)
	}
	for i, id := range ids {
		if id == leader {
			return i, ""
		}
	}
	return -1, fmt.Sprintf("leader %q is none of the nodes %v", leader, ids)
}

// freePorts returns n distinct ports of 127.0.0.1 that were free a moment
// ago.
func freePorts(n int) ([]int, error) {
	var out []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for len(out) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}
