package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// netnsSet is a private network on this machine: a bridge and one network
// namespace per node, each with its own address, so that a test can cut a
// node off from the others while the test itself still reaches it.
type netnsSet struct {
	t      *testing.T
	bridge string
	ns     []string
	subnet string // "10.231.X"
}

// newNetnsSet makes n namespaces. Without root or iproute2 the test is
// skipped, unless OPSYNC_REQUIRE_NETNS=1 (CI) makes that a failure.
func newNetnsSet(t *testing.T, n int) *netnsSet {
	t.Helper()
	_, err := exec.LookPath("ip")
	if os.Geteuid() != 0 || err != nil {
		if os.Getenv("OPSYNC_REQUIRE_NETNS") == "1" {
			t.Fatalf("network namespaces need root and iproute2 (euid %d, ip: %v)", os.Geteuid(), err)
		}
		t.Skip("network namespaces need root and iproute2; set OPSYNC_REQUIRE_NETNS=1 to make this a failure")
	}
	tag := os.Getpid() % 100000
	s := &netnsSet{t: t, bridge: fmt.Sprintf("osb%d", tag), subnet: fmt.Sprintf("10.231.%d", 20+tag%200)}
	t.Cleanup(s.teardown)
	s.ip("link", "add", s.bridge, "type", "bridge")
	s.ip("addr", "add", s.subnet+".1/24", "dev", s.bridge)
	s.ip("link", "set", s.bridge, "up")
	for i := 0; i < n; i++ {
		ns := fmt.Sprintf("osn%d-%d", tag, i)
		host, peer := fmt.Sprintf("osh%d-%d", tag, i), fmt.Sprintf("osp%d-%d", tag, i)
		s.ip("netns", "add", ns)
		s.ns = append(s.ns, ns)
		s.ip("link", "add", host, "type", "veth", "peer", "name", peer)
		s.ip("link", "set", peer, "netns", ns)
		s.ip("link", "set", host, "master", s.bridge)
		s.ip("link", "set", host, "up")
		s.ip("-n", ns, "addr", "add", s.addr(i)+"/24", "dev", peer)
		s.ip("-n", ns, "link", "set", peer, "up")
		s.ip("-n", ns, "link", "set", "lo", "up")
	}
	return s
}

func (s *netnsSet) addr(i int) string { return fmt.Sprintf("%s.%d", s.subnet, 11+i) }

func (s *netnsSet) ip(args ...string) {
	s.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		s.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func (s *netnsSet) teardown() {
	for _, ns := range s.ns {
		exec.Command("ip", "netns", "del", ns).Run()
	}
	exec.Command("ip", "link", "del", s.bridge).Run()
}

// layout places node i in namespace i on fixed ports (HTTP too: a node
// that restarts itself to rejoin keeps its URL).
func (s *netnsSet) layout() setLayout {
	return func(i int) (string, [4]int, []string) {
		return s.addr(i), [4]int{7001, 7101, 7201, 7301}, []string{"ip", "netns", "exec", s.ns[i]}
	}
}

// isolate cuts node k off from every other node, both ways; the test
// (on the bridge's own address) still reaches it.
func (s *netnsSet) isolate(k int) { s.routes(k, "add") }

// heal undoes isolate.
func (s *netnsSet) heal(k int) { s.routes(k, "del") }

func (s *netnsSet) routes(k int, verb string) {
	for j := range s.ns {
		if j == k {
			continue
		}
		s.ip("-n", s.ns[k], "route", verb, "blackhole", s.addr(j)+"/32")
		s.ip("-n", s.ns[j], "route", verb, "blackhole", s.addr(k)+"/32")
	}
}
