package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// opsync block create|update|get|message|delete|watch drive the block API
// and a client: one JSON line each; watch prints each version and typed
// message; get --admin is the admin API's records view.
func TestCLIBlock(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_BLOCKCLI"
	ensureInstance(t, srv.URL, inst)
	env := append(os.Environ(), "OPSYNC_API_KEY="+apiKey(t, srv.URL, inst))
	block := func(args ...string) map[string]any {
		t.Helper()
		out, errOut, code := runEnv(t, env, append([]string{"block", args[0], "--server", srv.URL}, args[1:]...)...)
		var m map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &m) != nil || m["code"] != 0.0 {
			t.Fatalf("block %v: exit %d %q %s", args, code, out, errOut)
		}
		return m["data"].(map[string]any)
	}
	created := block("create", "--type", "poll", "--data", `{"votes":0}`, "--business-id", "cli-poll")
	id := created["entity"].(map[string]any)["block_id"].(string)
	if got := block("get", "--business-id", "cli-poll")["entity"].(map[string]any)["block_id"]; got != id {
		t.Fatalf("get by business id: %v", got)
	}

	watch := exec.Command(opsyncBin, "block", "watch", "--server", srv.URL, "--instance", inst, "--user", "alice", "--block", id, "--count", "4")
	out, _ := watch.StdoutPipe()
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watch.Process.Kill(); watch.Wait() })
	lines := bufio.NewScanner(out)
	next := func() map[string]any {
		t.Helper()
		if !lines.Scan() {
			t.Fatal("block watch ended early")
		}
		var m map[string]any
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			t.Fatalf("block watch printed %q", lines.Text())
		}
		return m
	}
	if l := next(); l["kind"] != "state" || l["version"] != 1.0 {
		t.Fatalf("watch: %v", l)
	}
	block("update", "--block", id, "--data", `{"votes":1}`)
	if l := next(); l["version"] != 2.0 || l["sourceData"] != `{"votes":1}` {
		t.Fatalf("watch after update: %v", l)
	}
	if n := block("message", "--block", id, "--user", "alice", "--type", "badge", "--body", "3", "--version", "1")["devices"]; n != 1.0 {
		t.Fatalf("message reached %v devices", n)
	}
	if l := next(); l["kind"] != "typed" || l["type"] != "badge" || l["data"] != "3" {
		t.Fatalf("watch after message: %v", l)
	}
	// The records view through the admin API (the tests' admin token is in
	// the environment): the version and the watching client.
	got, errOut, code := runEnv(t, env, "block", "get", "--admin", "--server", srv.URL, "--instance", inst, "--block", id)
	var rec blockRecords
	if code != 0 || json.Unmarshal([]byte(got), &rec) != nil || rec.Block.Version != "2" || rec.Block.BusinessID != "cli-poll" || rec.Viewers.Total != 1 || len(rec.Viewers.ByNode) != 1 {
		t.Fatalf("block get --admin: exit %d %q %s", code, got, errOut)
	}
	if l := block("delete", "--block", id)["entity"].(map[string]any); l["deleted"] != true || l["version"] != "3" {
		t.Fatalf("delete: %v", l)
	}
	if l := next(); l["kind"] != "state" || l["deleted"] != true || l["version"] != 3.0 {
		t.Fatalf("watch after delete: %v", l)
	}
	if err := watch.Wait(); err != nil {
		t.Fatalf("watch --count 4: %v", err)
	}
	if _, errOut, code := runEnv(t, env, "block", "get", "--server", srv.URL, "--block", id); code != 1 || !strings.Contains(errOut, "1770002") {
		t.Fatalf("get after delete: exit %d %q", code, errOut)
	}
	if _, errOut, code := runEnv(t, env, "block", "update", "--server", srv.URL, "--block", id); code != 2 || !strings.Contains(errOut, "--data") {
		t.Fatalf("update without --data: exit %d %q", code, errOut)
	}
}
