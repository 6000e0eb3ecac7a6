package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// startEtcd runs a single-member etcd (Debian's etcd-server) on free
// loopback ports and returns its client endpoint. Without the binary the
// test is skipped, unless OPSYNC_REQUIRE_ETCD=1 (CI) makes that a failure.
func startEtcd(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("OPSYNC_REQUIRE_ETCD") == "1" {
			t.Fatal("etcd is not installed (Debian package etcd-server)")
		}
		t.Skip("etcd is not installed (apt-get install etcd-server); set OPSYNC_REQUIRE_ETCD=1 to make this a failure")
	}
	p := freePorts(t, 2)
	client, peer := fmt.Sprintf("127.0.0.1:%d", p[0]), fmt.Sprintf("http://127.0.0.1:%d", p[1])
	cmd := exec.Command(bin, "--name", "e2e", "--data-dir", filepath.Join(t.TempDir(), "etcd"),
		"--listen-client-urls", "http://"+client, "--advertise-client-urls", "http://"+client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "e2e="+peer,
		"--log-level", "error")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("etcd output:\n%s", out.String())
		}
	})
	waitFor(t, "etcd to accept connections", 30*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", client, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return client
}

// Three nodes find each other through etcd; a push through one node
// reaches a client on another; a node killed with -9 leaves the set
// (its etcd lease expires) and the others go on.
func TestSetWithEtcdMembership(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and three nodes")
	}
	endpoint := startEtcd(t)
	set := newNodeSetWith(t, 3, loopbackLayout(t, 3), endpoint)
	const inst, biz = "ws_ETCD", "EVENTS"
	putBizType(t, set.url(0), inst, biz, map[string]any{"target": "user"})
	r := startSetReader(t, set, inst, biz, "e1", 2)
	pushOK(t, set.url(0), inst, biz, "e1", "first")

	victim := (set.leader(0) + 1) % 3
	set.kill9(victim)
	survivors := []int{(victim + 1) % 3, (victim + 2) % 3}
	set.waitReady(survivors...)
	pushOK(t, set.url(survivors[0]), inst, biz, "e1", "second")
	pushOK(t, set.url(survivors[1]), inst, biz, "e1", "sentinel")
	r.waitSentinel(t)
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, m := range r.got {
		ids = append(ids, m.ThirdMsgID)
	}
	if fmt.Sprint(ids) != "[first second sentinel]" {
		t.Fatalf("client read %v, want [first second sentinel]", ids)
	}
}
