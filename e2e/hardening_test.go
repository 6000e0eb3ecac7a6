package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Instance ids of dots only are refused: "." and ".." are rewritten by the
// router's path cleaning, so an instance so named could be created and
// never managed again. Ids with dots among other characters stay
// manageable.
func TestInstanceIDsOfDotsAreRefused(t *testing.T) {
	srv := startServer(t, t.TempDir())
	for _, id := range []string{".", "..", "..."} {
		var e instanceAnswer
		if st := call(t, http.MethodPost, srv.URL+"/api/v1/instances", map[string]string{"instanceId": id}, &e); st != 400 || e.Error.Code != "INVALID" {
			t.Errorf("create %q: HTTP %d %+v", id, st, e.Error)
		}
		var ans pushAnswer
		call(t, http.MethodPost, srv.URL+"/webapi/sync/single?instanceId="+id, map[string]any{"bizType": "CHAT", "linkToken": "u", "thirdMsgId": "m", "payload": "x"}, &ans)
		if ans.Success || ans.Msg != "ARGS_INVALID" {
			t.Errorf("push to %q: %+v", id, ans)
		}
	}
	const dotted = ".ws.APP."
	createInstance(t, srv.URL, dotted)
	var e instanceAnswer
	if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+dotted, nil, &e); st != 200 || e.Instance.InstanceID != dotted {
		t.Fatalf("get %s: HTTP %d %+v", dotted, st, e.Error)
	}
	putBizType(t, srv.URL, dotted, "CHAT", map[string]any{})
	if _, ans := push(t, srv.URL, dotted, map[string]any{"bizType": "CHAT", "linkToken": "u", "thirdMsgId": "m", "payload": "x"}); ans.Msg != "SUCCESS" {
		t.Fatalf("push to %s: %+v", dotted, ans)
	}
}

// startLimited starts a node under prlimit's open-file limit soft:hard.
func startLimited(t *testing.T, soft, hard int, extra ...string) *server {
	t.Helper()
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) not found")
	}
	dir := t.TempDir()
	argv := append([]string{prlimit, fmt.Sprintf("--nofile=%d:%d", soft, hard), opsyncBin, "serve", "--data", dir, "--http", "127.0.0.1:0"}, extra...)
	return launch(t, dir, nil, argv)
}

// Idle keep-alive connections cannot lock new clients out: with 256
// descriptors (the node cannot raise a hard limit), 238 idle connections
// used to take every one; now the cap leaves a reserve and an idle
// connection makes room for a new client.
func TestIdleConnectionsDoNotLockClientsOut(t *testing.T) {
	srv := startLimited(t, 256, 256)
	if got := metricValue(t, srv.URL, "opsync_file_descriptor_limit"); got != 256 {
		t.Fatalf("descriptor limit %v", got)
	}
	max := metricValue(t, srv.URL, "opsync_http_connections_max")
	if max <= 0 || max >= 256 {
		t.Fatalf("connection cap %v with 256 descriptors", max)
	}
	const biz = "CHAT"
	putBizType(t, srv.URL, "ws_IDLE", biz, map[string]any{})
	var idle []*http.Client
	for i := 0; i < 238; i++ {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		resp, err := c.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatalf("idle client %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close() // the connection stays open, idle
		idle = append(idle, c)
	}
	t.Cleanup(func() {
		for _, c := range idle {
			c.CloseIdleConnections()
		}
	})
	// A new client gets in, and its push is stored.
	fresh := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	body, _ := json.Marshal(map[string]any{"bizType": biz, "linkToken": "u1", "thirdMsgId": "m1", "payload": "after the idle ones"})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webapi/sync/single?instanceId=ws_IDLE", bytes.NewReader(body))
	req.Header.Set("X-Opsync-Api-Key", apiKey(t, srv.URL, "ws_IDLE"))
	resp, err := fresh.Do(req)
	if err != nil {
		t.Fatalf("a new client after 238 idle connections: %v", err)
	}
	var ans pushAnswer
	json.NewDecoder(resp.Body).Decode(&ans)
	resp.Body.Close()
	if ans.Msg != "SUCCESS" {
		t.Fatalf("push: %+v", ans)
	}
	if closed := metricValue(t, srv.URL, "opsync_http_idle_closed_total"); closed < 238-max+1 {
		t.Fatalf("idle connections closed to make room: %v", closed)
	}
}

// The node raises its soft descriptor limit to the hard one.
func TestNodeRaisesItsDescriptorLimit(t *testing.T) {
	srv := startLimited(t, 256, 4096)
	if got := metricValue(t, srv.URL, "opsync_file_descriptor_limit"); got != 4096 {
		t.Fatalf("descriptor limit %v, want the hard limit 4096", got)
	}
}

// One remote address holds at most --max-conns-per-ip connections; the
// next is answered 503 with a code that says why, and a closed one frees
// its slot.
func TestConnectionsPerAddressAreCapped(t *testing.T) {
	srv := startServer(t, t.TempDir(), "--max-conns-per-ip", "3")
	addr := strings.TrimPrefix(srv.URL, "http://")
	var held []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("fourth connection: %v", err)
	}
	var e struct{ Error struct{ Code string } }
	json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != 503 || e.Error.Code != "TOO_MANY_CONNECTIONS" {
		t.Fatalf("fourth connection: %d %+v", resp.StatusCode, e)
	}
	held[0].Close()
	// Once the node has seen the close the slot is free again.
	getOnceFree(t, srv.URL+"/healthz")
	metrics := string(getOnceFree(t, srv.URL+"/metrics"))
	if !strings.Contains(metrics, `opsync_http_connections_refused_total{reason="per_address"} `) || strings.Contains(metrics, `opsync_http_connections_refused_total{reason="per_address"} 0`) {
		t.Fatalf("per-address refusals not counted:\n%s", metrics)
	}
}

// getOnceFree GETs u until the node has a connection slot for it (each
// refused try is answered at once) and returns the body.
func getOnceFree(t *testing.T, u string) []byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(u)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return body
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: no free slot: %v", u, err)
		}
	}
}

// The data directory and everything in it is private to the node's user;
// a directory other users can read already is reported at start.
func TestDataDirectoryIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, dir)
	putBizType(t, srv.URL, "ws_PERM", "CHAT", map[string]any{})
	pushOK(t, srv.URL, "ws_PERM", "CHAT", "u1", "m1")
	srv.kill() // a clean stop: every file it writes exists
	var checked int
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, _ := d.Info()
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s: mode %04o, want no access for group and others", path, perm)
		}
		checked++
		return nil
	})
	if checked < 5 {
		t.Fatalf("only %d entries under the data directory", checked)
	}

	loose := t.TempDir()
	os.Chmod(loose, 0o755)
	os.WriteFile(filepath.Join(loose, "left-by-hand"), []byte("x"), 0o644)
	srv = startServer(t, loose)
	srv.kill()
	if log := srv.stderr.String(); !strings.Contains(log, "readable by other local users") {
		t.Fatalf("no warning about a readable data directory:\n%s", log)
	}
}
