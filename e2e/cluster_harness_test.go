package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsync/opsync/internal/edge"
)

// setNode is one `opsync serve` of a node set, restartable on its data.
type setNode struct {
	host    string // the address it listens on
	remote  string // its cluster address: its id in the set
	raft    string // its raft address
	argv    []string
	dataDir string
	srv     *server
}

// nodeSet is a set of opsync processes forming one cluster with the
// replicated journal: membership through seeds, raft bootstrapped with
// every node as a voter.
type nodeSet struct {
	t     *testing.T
	root  string // the nodes' data directories are under it
	mu    sync.Mutex
	nodes []*setNode
}

// setLayout places node i: its host, its ports (cluster, seed, raft,
// HTTP; 0 for HTTP: any free one) and the command that wraps serve (nil:
// none).
type setLayout func(i int) (host string, ports [4]int, wrapper []string)

// loopbackLayout puts every node on 127.0.0.1 with free ports.
func loopbackLayout(t *testing.T, n int) setLayout {
	ports := freePorts(t, 3*n)
	return func(i int) (string, [4]int, []string) {
		return "127.0.0.1", [4]int{ports[3*i], ports[3*i+1], ports[3*i+2], 0}, nil
	}
}

// freePorts returns n distinct ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	var lns []net.Listener
	for len(out) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// newNodeSet starts n nodes placed by layout, finding each other through
// seeds; extra flags go to every serve.
func newNodeSet(t *testing.T, n int, layout setLayout, extra ...string) *nodeSet {
	t.Helper()
	return newNodeSetWith(t, n, layout, "", extra...)
}

// newNodeSetWith is newNodeSet with membership through the etcd at
// etcdEndpoint ("" : seeds).
func newNodeSetWith(t *testing.T, n int, layout setLayout, etcdEndpoint string, extra ...string) *nodeSet {
	t.Helper()
	set := planNodeSet(t, n, n, layout, etcdEndpoint, extra...)
	for i := range set.nodes {
		set.start(i)
	}
	set.waitReady(set.all()...)
	return set
}

// planNodeSet lays out n nodes without starting them; the first voters
// bootstrap the raft group, the others start without raft configuration
// and wait to be added as voters.
func planNodeSet(t *testing.T, n, voters int, layout setLayout, etcdEndpoint string, extra ...string) *nodeSet {
	t.Helper()
	set := &nodeSet{t: t}
	var seeds, boot []string
	for i := 0; i < n; i++ {
		host, p, _ := layout(i)
		seeds = append(seeds, fmt.Sprintf("%s:%d", host, p[1]))
		if i < voters {
			boot = append(boot, fmt.Sprintf("%s:%d=%s:%d", host, p[0], host, p[2]))
		}
	}
	root := t.TempDir()
	set.root = root
	key := newMasterKeyFile(t) // every node of a set holds the same master key
	for i := 0; i < n; i++ {
		host, p, wrapper := layout(i)
		dir := filepath.Join(root, fmt.Sprintf("node%d", i))
		argv := append(append([]string{}, wrapper...), opsyncBin, "serve", "--data", dir,
			"--http", fmt.Sprintf("%s:%d", host, p[3]), "--remote", fmt.Sprintf("%s:%d", host, p[0]),
			"--raft", fmt.Sprintf("%s:%d", host, p[2]), "--raft-election-timeout", "500ms", "--log-level", "warn",
			"--master-key-file", key)
		if i < voters {
			argv = append(argv, "--raft-bootstrap", strings.Join(boot, ","))
		}
		if etcdEndpoint != "" {
			argv = append(argv, "--etcd", etcdEndpoint, "--etcd-prefix", "/opsync-e2e/"+t.Name())
		} else {
			argv = append(argv, "--seeds", strings.Join(seeds, ","), "--seed-port", fmt.Sprint(p[1]))
		}
		argv = append(argv, extra...)
		set.nodes = append(set.nodes, &setNode{host: host, remote: fmt.Sprintf("%s:%d", host, p[0]), raft: fmt.Sprintf("%s:%d", host, p[2]), argv: argv, dataDir: dir})
	}
	return set
}

func (s *nodeSet) all() []int {
	out := make([]int, len(s.nodes))
	for i := range out {
		out[i] = i
	}
	return out
}

// start (re)starts node i on its data directory.
func (s *nodeSet) start(i int) {
	s.t.Helper()
	n := s.nodes[i]
	srv := launch(s.t, n.dataDir, nil, n.argv)
	serverStores.Store(srv.URL, s.root) // the nodes share their data
	s.mu.Lock()
	n.srv = srv
	s.mu.Unlock()
}

// url is node i's base URL ("" while it is down).
func (s *nodeSet) url(i int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nodes[i]; n.srv != nil {
		return n.srv.URL
	}
	return ""
}

// kill9 kills node i with SIGKILL.
func (s *nodeSet) kill9(i int) {
	s.t.Helper()
	s.mu.Lock()
	srv := s.nodes[i].srv
	s.nodes[i].srv = nil
	s.mu.Unlock()
	srv.kill9()
}

// stop stops node i with SIGTERM (a graceful close) and waits for it.
func (s *nodeSet) stop(i int) {
	s.t.Helper()
	s.mu.Lock()
	srv := s.nodes[i].srv
	s.nodes[i].srv = nil
	s.mu.Unlock()
	srv.stop()
}

// status asks node i for its view of the set.
func (s *nodeSet) status(i int) (edge.ClusterStatus, error) {
	var st edge.ClusterStatus
	u := s.url(i)
	if u == "" {
		return st, fmt.Errorf("node %d is down", i)
	}
	req, _ := http.NewRequest(http.MethodGet, u+"/api/v1/cluster", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("node %d: HTTP %d", i, resp.StatusCode)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// waitReady waits until each of nodes sees exactly those nodes as members
// and all agree on one raft leader among them.
func (s *nodeSet) waitReady(nodes ...int) {
	s.t.Helper()
	want := map[string]bool{}
	for _, i := range nodes {
		want[s.nodes[i].remote] = true
	}
	var last string
	deadline := time.Now().Add(60 * time.Second)
	for !func() bool {
		leader := ""
		for _, i := range nodes {
			st, err := s.status(i)
			if err != nil {
				last = err.Error()
				return false
			}
			if len(st.Members) != len(want) || st.Leader == "" || !want[st.Leader] || (leader != "" && st.Leader != leader) {
				last = fmt.Sprintf("node %d: members %v, leader %q", i, st.Members, st.Leader)
				return false
			}
			for _, m := range st.Members {
				if !want[m] {
					last = fmt.Sprintf("node %d: unexpected member %s", i, m)
					return false
				}
			}
			leader = st.Leader
		}
		return true
	}() {
		if time.Now().After(deadline) {
			s.t.Fatalf("the node set did not agree on members and a leader within 60s; last: %s", last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leader returns the index of the raft leader as node i sees it.
func (s *nodeSet) leader(i int) int {
	s.t.Helper()
	st, err := s.status(i)
	if err != nil {
		s.t.Fatal(err)
	}
	for j, n := range s.nodes {
		if n.remote == st.Leader {
			return j
		}
	}
	s.t.Fatalf("node %d names leader %q, not a node of the set", i, st.Leader)
	return -1
}

// waitCaughtUp waits until node i's replica holds everything node j's
// replica held when the wait began (every push acknowledged by then).
func (s *nodeSet) waitCaughtUp(i, j int) {
	s.t.Helper()
	st, err := s.status(j)
	if err != nil {
		s.t.Fatal(err)
	}
	// The replica's own index, not raft's applied index: raft counts a
	// batch applied when it hands it to the replica, before it is written,
	// and a node stopped then leaves it to be applied at its next start.
	target := st.ReplicaIndex
	waitFor(s.t, fmt.Sprintf("node %d's replica to reach raft index %d", i, target), 60*time.Second, func() bool {
		mine, err := s.status(i)
		return err == nil && mine.ReplicaIndex >= target
	})
}
