package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// serve refuses cluster configurations that would lose data or cannot
// work, with a message that says why, before it serves anything.
func TestServeRefusesBadClusterFlags(t *testing.T) {
	standalone := t.TempDir()
	srv := startServer(t, standalone)
	putBizType(t, srv.URL, "ws_FLAGS", "EVENTS", map[string]any{"target": "user"})
	pushOK(t, srv.URL, "ws_FLAGS", "EVENTS", "u1", "m1")
	srv.kill()
	key := newMasterKeyFile(t)

	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"seeds without a seed port", []string{"--seeds", "127.0.0.1:1"}, 2, "--seeds needs --seed-port"},
		{"a set without the replicated journal", []string{"--remote", "127.0.0.1:1", "--seeds", "127.0.0.1:2", "--seed-port", "2"}, 1, "needs the replicated journal"},
		{"raft with a port-0 cluster address", []string{"--raft", "127.0.0.1:3"}, 1, "fixed cluster address"},
		{"malformed bootstrap", []string{"--raft", "127.0.0.1:3", "--raft-bootstrap", "127.0.0.1:1"}, 2, "not id=raftAddress"},
		{"bootstrap without raft", []string{"--raft-bootstrap", "a:1=b:2"}, 2, "--raft-bootstrap needs --raft"},
		{"seeds and etcd", []string{"--remote", "127.0.0.1:1", "--raft", "127.0.0.1:3", "--seeds", "127.0.0.1:2", "--seed-port", "2", "--etcd", "127.0.0.1:4", "--master-key-file", key}, 1, "not both"},
		{"raft without a master key", []string{"--remote", "127.0.0.1:1", "--raft", "127.0.0.1:3"}, 1, "needs --master-key-file"},
	} {
		args := append([]string{"serve", "--data", t.TempDir(), "--http", "127.0.0.1:0"}, c.args...)
		_, errOut, code := run(t, args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q", c.name, code, errOut, c.code, c.want)
		}
	}

	// A standalone node's data cannot become a set member's replica: its
	// journals exist on that node alone.
	_, errOut, code := run(t, "serve", "--data", standalone, "--http", "127.0.0.1:0", "--remote", "127.0.0.1:1", "--raft", "127.0.0.1:3",
		"--master-key-file", filepath.Join(standalone, "master-key"))
	if code != 1 || !strings.Contains(errOut, "standalone node's journals") {
		t.Errorf("raft on a standalone data dir: exit %d, stderr %q", code, errOut)
	}
}
