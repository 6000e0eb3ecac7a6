package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// opsync card create|update|deliver|get|register-callback|watch drive the
// card API and a client: one JSON answer each; watch prints each view as
// a JSON line, with the watcher's private data.
func TestCLICard(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_CARDCLI"
	ensureInstance(t, srv.URL, inst)
	env := append(os.Environ(), "OPSYNC_API_KEY="+apiKey(t, srv.URL, inst))
	card := func(args ...string) any {
		t.Helper()
		out, errOut, code := runEnv(t, env, append([]string{"card", args[0], "--server", srv.URL}, args[1:]...)...)
		var m map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &m) != nil || m["success"] != true {
			t.Fatalf("card %v: exit %d %q %s", args, code, out, errOut)
		}
		return m["result"]
	}
	if id := card("create", "--card", "cli-1", "--template", "tpl", "--user", "alice", "--param", "votes=0",
		"--private", "bob:mine=yes", "--source", "price:30", "--source", "quota", "--route-key", "rk"); id != "cli-1" {
		t.Fatalf("create answered %v", id)
	}

	watch := exec.Command(opsyncBin, "card", "watch", "--server", srv.URL, "--instance", inst, "--user", "bob", "--card", "cli-1", "--count", "3")
	out, _ := watch.StdoutPipe()
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watch.Process.Kill(); watch.Wait() })
	lines := bufio.NewScanner(out)
	next := func() map[string]any {
		t.Helper()
		if !lines.Scan() {
			t.Fatal("card watch ended early")
		}
		var m map[string]any
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			t.Fatalf("card watch printed %q", lines.Text())
		}
		return m
	}
	// The view, and (the card has dynamic sources, its route key no
	// callback yet) the dynamic-data error of the edge, in either order.
	var view, dynErr map[string]any
	for view == nil || dynErr == nil {
		switch l := next(); l["kind"] {
		case "view":
			view = l
		case "dynamic":
			dynErr = l
		default:
			t.Fatalf("watch: %v", l)
		}
	}
	if view["version"] != 1.0 || view["cardParamMap"].(map[string]any)["mine"] != "yes" {
		t.Fatalf("watch: %v", view)
	}
	if e, _ := dynErr["error"].(string); !strings.Contains(e, "param.callbackRouteKeyNotExist") {
		t.Fatalf("watch: dynamic line %v, want the error of an unregistered route key", dynErr)
	}
	if ok := card("update", "--card", "cli-1", "--param", "votes=1", "--merge"); ok != true {
		t.Fatalf("update answered %v", ok)
	}
	if l := next(); l["version"] != 2.0 || l["cardParamMap"].(map[string]any)["votes"] != "1" || l["cardParamMap"].(map[string]any)["mine"] != "yes" {
		t.Fatalf("watch after update: %v", l)
	}
	if err := watch.Wait(); err != nil {
		t.Fatalf("watch --count 3: %v", err)
	}

	rs := card("deliver", "--card", "cli-1", "--space", "dtv1.card//im_group.g;im_robot.carl", "--recipient", "dora").([]any)
	if len(rs) != 2 || rs[0].(map[string]any)["success"] != true || rs[1].(map[string]any)["spaceType"] != "IM_ROBOT" {
		t.Fatalf("deliver answered %v", rs)
	}
	got := card("get", "--card", "cli-1").(map[string]any)
	if got["version"] != 2.0 || len(got["recipients"].([]any)) != 4 || len(got["openDynamicDataConfig"].(map[string]any)["dynamicDataSourceConfigs"].([]any)) != 2 {
		t.Fatalf("get answered %v", got)
	}
	reg := card("register-callback", "--route-key", "rk", "--url", "https://203.0.113.10/cb", "--secret", "s3cret").(map[string]any)
	if reg["apiSecret"] != "s3cret" || reg["callbackUrl"] != "https://203.0.113.10/cb" {
		t.Fatalf("register-callback answered %v", reg)
	}
	// A refusal exits 1 with the code on stderr.
	if _, errOut, code := runEnv(t, env, "card", "register-callback", "--server", srv.URL, "--route-key", "rk", "--url", "https://203.0.113.10/cb"); code != 1 ||
		!strings.Contains(errOut, "param.callbackRouteKeyExist") {
		t.Fatalf("a second register: exit %d %s", code, errOut)
	}
}
