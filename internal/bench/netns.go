package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// netnsSet is a private network on this machine, as e2e/netns_test.go
// builds it for the partition test: a bridge and one network namespace per
// node, each with its own address, so that a node can be cut off from the
// others while the bench (on the bridge's address) still reaches it.
type netnsSet struct {
	bridge string
	ns     []string
	subnet string // "10.232.X": e2e uses 10.231, so a bench and the tests never share one
}

// netnsUnavailable says why namespaces cannot be made here ("" : they can).
func netnsUnavailable() string {
	if os.Geteuid() != 0 {
		return fmt.Sprintf("network namespaces need root (euid %d)", os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "network namespaces need iproute2 (ip): " + err.Error()
	}
	return ""
}

// newNetnsSet makes n namespaces; the caller tears them down.
func newNetnsSet(n int) (*netnsSet, error) {
	tag := os.Getpid() % 100000
	s := &netnsSet{bridge: fmt.Sprintf("obb%d", tag), subnet: fmt.Sprintf("10.232.%d", 20+tag%200)}
	steps := [][]string{
		{"link", "add", s.bridge, "type", "bridge"},
		{"addr", "add", s.subnet + ".1/24", "dev", s.bridge},
		{"link", "set", s.bridge, "up"},
	}
	for i := 0; i < n; i++ {
		ns := fmt.Sprintf("obn%d-%d", tag, i)
		host, peer := fmt.Sprintf("obh%d-%d", tag, i), fmt.Sprintf("obp%d-%d", tag, i)
		s.ns = append(s.ns, ns)
		steps = append(steps,
			[]string{"netns", "add", ns},
			[]string{"link", "add", host, "type", "veth", "peer", "name", peer},
			[]string{"link", "set", peer, "netns", ns},
			[]string{"link", "set", host, "master", s.bridge},
			[]string{"link", "set", host, "up"},
			[]string{"-n", ns, "addr", "add", s.addr(i) + "/24", "dev", peer},
			[]string{"-n", ns, "link", "set", peer, "up"},
			[]string{"-n", ns, "link", "set", "lo", "up"})
	}
	for _, st := range steps {
		if err := ip(st...); err != nil {
			s.teardown()
			return nil, err
		}
	}
	return s, nil
}

func (s *netnsSet) addr(i int) string { return fmt.Sprintf("%s.%d", s.subnet, 11+i) }

// httpPort: each node has its namespace's ports to itself, so one fixed
// HTTP port serves all of them.
func (s *netnsSet) httpPort(int) int { return 7301 }

// wrapper runs a command in node i's namespace (ip execs it in place).
func (s *netnsSet) wrapper(i int) []string { return []string{"ip", "netns", "exec", s.ns[i]} }

// isolate cuts node k off from every other node, both ways; heal undoes it.
func (s *netnsSet) isolate(k int) error { return s.routes(k, "add") }
func (s *netnsSet) heal(k int) error    { return s.routes(k, "del") }

func (s *netnsSet) routes(k int, verb string) error {
	var errs []error
	for j := range s.ns {
		if j != k {
			errs = append(errs, ip("-n", s.ns[k], "route", verb, "blackhole", s.addr(j)+"/32"),
				ip("-n", s.ns[j], "route", verb, "blackhole", s.addr(k)+"/32"))
		}
	}
	return errors.Join(errs...)
}

func (s *netnsSet) teardown() {
	for _, ns := range s.ns {
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}
	_ = exec.Command("ip", "link", "del", s.bridge).Run()
}

func ip(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
