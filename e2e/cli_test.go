package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// run runs the opsync binary and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runEnv(t, nil, args...)
}

// runEnv is run with the environment env (nil: the tests' own).
func runEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(opsyncBin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("opsync %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func TestCLIHelpForEveryCommand(t *testing.T) {
	for _, c := range []string{"serve", "config", "push", "tail", "journal", "bench", "records", "instance", "operations", "oplog", "cluster", "block"} {
		out, _, code := run(t, c, "--help")
		if code != 0 || !strings.Contains(out, "usage:") {
			t.Errorf("opsync %s --help: exit %d, stdout %q", c, code, out)
		}
	}
	if _, errOut, code := run(t, "frobnicate"); code == 0 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := run(t, "push", "--server", "http://127.0.0.1:1"); code != 2 || errOut == "" {
		t.Errorf("push without required flags: exit %d, stderr %q", code, errOut)
	}
}

// The config and push commands drive the admin and push APIs; their JSON
// output and exit codes are the contract scripts rely on.
func TestCLIConfigAndPush(t *testing.T) {
	srv := startServer(t, t.TempDir())
	s := []string{"--server", srv.URL, "--instance", "ws_CLI"}
	cfg := func(verb string, extra ...string) map[string]any {
		t.Helper()
		out, errOut, code := run(t, append(append([]string{"config", verb}, s...), extra...)...)
		if code != 0 {
			t.Fatalf("config %s: exit %d: %s", verb, code, errOut)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Fatalf("config %s printed %q, not one JSON line", verb, out)
		}
		return m
	}
	if _, errOut, code := run(t, append([]string{"config", "put", "--biz", "CHAT"}, s...)...); code != 1 || !strings.Contains(errOut, "INSTANCE_NOT_FOUND") {
		t.Fatalf("config put before the instance exists: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := run(t, append([]string{"instance", "create"}, s...)...); code != 0 {
		t.Fatalf("instance create: exit %d: %s", code, errOut)
	}
	put := cfg("put", "--biz", "DEVICE-LOCK", "--target", "device", "--threshold", "5", "--description", "locks")
	c := put["config"].(map[string]any)
	if c["bizType"] != "DEVICE-LOCK" || c["target"] != "device" || c["repushMode"] != "threshold" || c["threshold"] != 5.0 || c["online"] != true {
		t.Fatalf("config put answered %v", put)
	}
	cfg("put", "--biz", "CHAT")
	if list := cfg("list")["configs"].([]any); len(list) != 2 {
		t.Fatalf("config list has %d configs, want 2", len(list))
	}
	if got := cfg("offline", "--biz", "CHAT")["config"].(map[string]any)["online"]; got != false {
		t.Fatalf("offline left online=%v", got)
	}

	push := func(extra ...string) (map[string]any, int) {
		t.Helper()
		out, _, code := run(t, append(append([]string{"push"}, s...), extra...)...)
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("push printed %q", out)
		}
		return m, code
	}
	if a, code := push("--biz", "CHAT", "--link-token", "u1", "--msg-id", "m1", "--payload", "hi"); code != 1 || a["msg"] != "BIZ_NOT_ONLINE" {
		t.Fatalf("push to an offline bizType: exit %d %v", code, a)
	}
	cfg("online", "--biz", "CHAT")
	if a, code := push("--biz", "CHAT", "--link-token", "u1", "--msg-id", "m1", "--payload", "hi"); code != 0 || a["msg"] != "SUCCESS" {
		t.Fatalf("push: exit %d %v", code, a)
	}
	bin := []byte{0, 1, 2, 0xfe, 0xff}
	f := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(f, bin, 0o600); err != nil {
		t.Fatal(err)
	}
	if a, code := push("--biz", "CHAT", "--link-token", "u1", "--msg-id", "m2", "--binary-file", f, "--valid-until", "9999999999999"); code != 0 || a["msg"] != "SUCCESS" {
		t.Fatalf("binary push: exit %d %v", code, a)
	}
	if a, code := push("--biz", "CHAT", "--link-token", "u1", "--msg-id", "m1", "--payload", "again"); code != 0 || a["msg"] != "DUPLICATED_BIZ_ID" {
		t.Fatalf("repeat push: exit %d %v", code, a)
	}
	lines := startTail(t, srv.URL, "ws_CLI", "--user", "u1", "--biz", "CHAT", "--count", "2").collect(t, time.Minute)
	if lines[0].Payload != "hi" || lines[1].BinaryPayload != base64.StdEncoding.EncodeToString(bin) {
		t.Fatalf("tail got %+v", lines)
	}

	if got := cfg("delete", "--biz", "CHAT"); got["ok"] != true {
		t.Fatalf("delete answered %v", got)
	}
	if _, errOut, code := run(t, append([]string{"config", "get", "--biz", "CHAT"}, s...)...); code != 1 || !strings.Contains(errOut, "NOT_FOUND") {
		t.Fatalf("get after delete: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := run(t, append([]string{"config", "put", "--biz", "bad biz"}, s...)...); code != 1 || !strings.Contains(errOut, "INVALID") {
		t.Fatalf("put with a bad bizType: exit %d, stderr %q", code, errOut)
	}
}
