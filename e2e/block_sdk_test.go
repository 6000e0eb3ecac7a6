package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The service's official Node SDK (@larksuiteoapi/node-sdk 1.74.0, locked
// in e2e/sdk/block) works against opsync with only its domain changed: it
// fetches a tenant token with the instance's app id and secret, creates a
// block, updates it and sends a typed message, while a Go client watches
// the block. Skipped without node unless OPSYNC_REQUIRE_NODE=1.
func TestBlockOfficialNodeSDK(t *testing.T) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("OPSYNC_REQUIRE_NODE") == "1" {
			t.Fatal("node not found and OPSYNC_REQUIRE_NODE=1")
		}
		t.Skip("node not found: the official SDK test needs Node 18+ and npm (set OPSYNC_REQUIRE_NODE=1 to fail instead)")
	}
	dir, _ := filepath.Abs(filepath.Join("sdk", "block"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@larksuiteoapi", "node-sdk")); err != nil {
		npm := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--prefer-offline")
		npm.Dir = dir
		if out, err := npm.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	srv := startServer(t, t.TempDir())
	const inst, user = "ws_BLOCKSDK", "ou_sdk_user"
	ensureInstance(t, srv.URL, inst)

	cmd := exec.Command(nodeBin, "test.mjs")
	cmd.Dir = dir
	// The app id is the instance id, the app secret its API key.
	cmd.Env = append(os.Environ(), "OPSYNC_URL="+srv.URL, "APP_ID="+inst, "APP_SECRET="+apiKey(t, srv.URL, inst), "OPEN_ID="+user)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	step := func(want string) map[string]any {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("the SDK script ended before %s: %s", want, stderr.String())
		}
		var l struct {
			Step string         `json:"step"`
			Res  map[string]any `json:"res"`
		}
		if err := json.Unmarshal(lines.Bytes(), &l); err != nil || l.Step != want {
			t.Fatalf("SDK script printed %q, want step %s (%v)", lines.Text(), want, err)
		}
		if code, _ := l.Res["code"].(float64); code != 0 {
			t.Fatalf("SDK %s answered %v", want, l.Res)
		}
		return l.Res
	}
	created := step("create")
	id, _ := created["data"].(map[string]any)["entity"].(map[string]any)["block_id"].(string)
	v := connectViewer(t, srv.URL, inst, user, "sdk-device", id)
	if b := v.nextState(t); b.Version != 1 || b.SourceData != `{"votes":0}` {
		t.Fatalf("the viewer opened version %d %s", b.Version, b.SourceData)
	}
	io.WriteString(stdin, "go\n")
	step("update")
	if b := v.nextState(t); b.Version != 2 || b.SourceData != `{"votes":1}` {
		t.Fatalf("after the SDK's update the viewer got version %d %s", b.Version, b.SourceData)
	}
	step("message")
	if m := v.nextTyped(t); m.Type != "badge" || string(m.Data) != `{"unread":3}` || m.Version != 1 {
		t.Fatalf("the SDK's typed message arrived as %+v", m)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("SDK script: %v\n%s", err, stderr.String())
	}
}
