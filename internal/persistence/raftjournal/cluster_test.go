package raftjournal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/opsync/opsync/internal/persistence"
)

// testCluster is an in-process raft journal set: per node an actor system
// with remote on 127.0.0.1, a local PebbleStore and a Store, all voters of
// one group. Its ports are kept in dir so that it restarts where it was.
type testCluster struct {
	t     testing.TB
	dir   string
	nodes []*testNode
	tweak func(*Config)
	// space guards every node's replica (nil: none).
	space *persistence.SpaceGuard
}

type testNode struct {
	i        int
	port     int // protoactor remote
	raftPort int
	system   *actor.ActorSystem
	remote   *remote.Remote
	local    *persistence.PebbleStore
	store    *Store
}

func (n *testNode) id() string       { return fmt.Sprintf("127.0.0.1:%d", n.port) }
func (n *testNode) raftAddr() string { return fmt.Sprintf("127.0.0.1:%d", n.raftPort) }
func (n *testNode) running() bool    { return n.store != nil }

// fastTimings keeps elections short for tests; the lease stays below the
// heartbeat timeout as raft requires. 300 ms, the nodes' default: at 150
// ms a leader on a loaded 2-core machine lost its lease now and then and
// the conformance suite's appends failed with "outcome unknown".
func fastTimings(c *Config) {
	c.HeartbeatTimeout = 300 * time.Millisecond
	c.ElectionTimeout = 300 * time.Millisecond
	c.LeaderLeaseTimeout = 200 * time.Millisecond
	c.ApplyTimeout = 5 * time.Second
}

// newCluster starts (or, if dir holds one, restarts) an n-node set.
func newCluster(t testing.TB, dir string, n int, tweak func(*Config)) *testCluster {
	t.Helper()
	return startCluster(&testCluster{t: t, dir: dir, tweak: tweak}, n)
}

// startCluster starts c's n nodes.
func startCluster(c *testCluster, n int) *testCluster {
	t, dir := c.t, c.dir
	t.Helper()
	portsFile := filepath.Join(dir, "ports.json")
	var ports [][2]int
	if b, err := os.ReadFile(portsFile); err == nil {
		if err := json.Unmarshal(b, &ports); err != nil {
			t.Fatal(err)
		}
	} else {
		// All listeners stay open until every port is picked, or the
		// kernel may hand out one port twice.
		var ls []net.Listener
		port := func() int {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ls = append(ls, l)
			return l.Addr().(*net.TCPAddr).Port
		}
		for range n {
			ports = append(ports, [2]int{port(), port()})
		}
		for _, l := range ls {
			l.Close()
		}
		b, _ := json.Marshal(ports)
		if err := os.WriteFile(portsFile, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range ports {
		c.nodes = append(c.nodes, &testNode{i: i, port: p[0], raftPort: p[1]})
	}
	for i := range c.nodes {
		c.start(i)
	}
	return c
}

var quiet = slog.New(slog.DiscardHandler)

// start starts node i from its directories.
func (c *testCluster) start(i int) {
	c.t.Helper()
	n := c.nodes[i]
	n.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
	n.remote = remote.NewRemote(n.system, remote.Configure("127.0.0.1", n.port))
	n.remote.Start()
	nodeDir := filepath.Join(c.dir, fmt.Sprintf("node%d", i))
	var err error
	n.local, err = persistence.OpenPebble(filepath.Join(nodeDir, "journal"), persistence.PebbleOptions{Logger: quiet, Space: c.space})
	if err != nil {
		c.t.Fatal(err)
	}
	var boot []Server
	for _, m := range c.nodes {
		boot = append(boot, Server{ID: m.id(), Address: m.raftAddr()})
	}
	cfg := Config{
		ID: n.system.Address(), RaftAddr: n.raftAddr(), Dir: filepath.Join(nodeDir, "raft"),
		Local: n.local, System: n.system, Bootstrap: boot,
	}
	if cfg.ID != n.id() {
		c.t.Fatalf("node %d: system address %s, want %s", i, cfg.ID, n.id())
	}
	fastTimings(&cfg)
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	if n.store, err = Open(cfg); err != nil {
		c.t.Fatalf("node %d: %v", i, err)
	}
}

// stop stops node i as a crash looks to its peers: raft and the remote
// server go away at once. (Its replica is closed too, after raft, as a
// process exit would.)
func (c *testCluster) stop(i int) {
	c.t.Helper()
	n := c.nodes[i]
	if !n.running() {
		return
	}
	if err := n.store.Close(); err != nil {
		c.t.Errorf("node %d: close: %v", i, err)
	}
	n.remote.Shutdown(false)
	n.system.Shutdown()
	if err := n.local.Close(); err != nil {
		c.t.Errorf("node %d: close replica: %v", i, err)
	}
	n.store = nil
}

func (c *testCluster) close() {
	for i := range c.nodes {
		c.stop(i)
	}
}

// leader waits until a running node is leader and every running node
// agrees on it, and returns it.
func (c *testCluster) leader() *testNode {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var leader *testNode
		agreed := true
		for _, n := range c.nodes {
			if !n.running() {
				continue
			}
			_, id := n.store.raft.LeaderWithID()
			if n.store.IsLeader() {
				leader = n
			}
			if id == "" || (leader != nil && string(id) != leader.id()) {
				agreed = false
			}
		}
		if leader != nil && agreed {
			_, id := c.running()[0].store.raft.LeaderWithID()
			if string(id) == leader.id() {
				return leader
			}
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
	}
	c.t.Fatal("no agreed leader within 10 s")
	return nil
}

// follower returns a running node other than the leader.
func (c *testCluster) follower() *testNode {
	l := c.leader()
	for _, n := range c.running() {
		if n != l {
			return n
		}
	}
	c.t.Fatal("no running follower")
	return nil
}

func (c *testCluster) running() []*testNode {
	var out []*testNode
	for _, n := range c.nodes {
		if n.running() {
			out = append(out, n)
		}
	}
	return out
}

// converge waits until every running replica has applied the leader's
// applied index, then checks that all replicas hold exactly the same
// journal keys.
func (c *testCluster) converge() {
	c.t.Helper()
	l := c.leader()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.store.ReadBarrier(ctx); err != nil {
		c.t.Fatalf("barrier on leader: %v", err)
	}
	target := l.store.fsm.applied.get()
	var want []byte
	for _, n := range c.running() {
		if err := n.store.fsm.applied.wait(ctx, target); err != nil {
			c.t.Fatalf("node %d stuck at applied %d, leader at %d", n.i, n.store.fsm.applied.get(), target)
		}
		got := checkpoint(c.t, n.local)
		if want == nil {
			want = got
		} else if !bytes.Equal(got, want) {
			c.t.Fatalf("node %d's replica differs (%d bytes vs %d)", n.i, len(got), len(want))
		}
	}
}

func checkpoint(t testing.TB, s *persistence.PebbleStore) []byte {
	t.Helper()
	cp, err := s.NewCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	var buf bytes.Buffer
	if _, err := cp.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// clusterStore is what the conformance suite gets: the Store of one node,
// whose Close stops the whole set.
type clusterStore struct {
	*Store
	c *testCluster
}

func (s clusterStore) Close() error {
	if s.Store.closed.Load() {
		return nil
	}
	s.c.close()
	return nil
}

var _ persistence.Store = clusterStore{}

// wipeReplica deletes node i's local journal database (not its raft state).
func wipeReplica(t testing.TB, dir string, i int) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(dir, fmt.Sprintf("node%d", i), "journal")); err != nil {
		t.Fatal(err)
	}
}
