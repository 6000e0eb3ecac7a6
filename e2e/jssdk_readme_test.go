package e2e

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The browser example of README's quick start ("In a browser"), run as
// written: its lines, taken from README.md, are the page, served beside
// the bundle `npm run bundle` builds; only the node's address is the test
// node's. Pushes to alice appear on the page and are acknowledged.
func TestJSSDKReadmeExample(t *testing.T) {
	needBrowser(t)
	page := readmeBrowserExample(t)
	srv := startServer(t, t.TempDir(), "--allow-origin", "127.0.0.1:*")
	const readmeNode = "http://127.0.0.1:8470"
	if strings.Count(page, readmeNode) != 1 {
		t.Fatalf("the README's example does not name the node %s once:\n%s", readmeNode, page)
	}
	page = strings.Replace(page, readmeNode, srv.URL, 1)
	createInstance(t, srv.URL, "demo_APP")
	putBizType(t, srv.URL, "demo_APP", "CHAT-MSG", map[string]any{"target": "user"})

	b := startBrowser(t)
	p := b.openFile("readme", "readme.html", page)
	pushOK(t, srv.URL, "demo_APP", "CHAT-MSG", "alice", "m1", "payload", "hello")
	pushOK(t, srv.URL, "demo_APP", "CHAT-MSG", "alice", "m2", "payload", "hi, browser")
	// Resolves when the page shows both, each after its oplog id (a
	// MutationObserver: no polling). The ids increase but need not be 1
	// and 2: an acknowledgement's sync point takes a journal sequence of
	// the stream too.
	shown := b.eval("readme", `new Promise((resolve) => {
		const lines = () => document.body.innerText.split("\n").filter((l) => l !== "");
		const done = () => lines().some((l) => / hi, browser$/.test(l));
		if (done()) return resolve(JSON.stringify(lines()));
		new MutationObserver((_, o) => { if (done()) { o.disconnect(); resolve(JSON.stringify(lines())); } })
			.observe(document.body, { childList: true, subtree: true });
	})`)
	t.Logf("the page shows %s", shown)
	var lines []string
	if err := json.Unmarshal([]byte(shown), &lines); err != nil {
		t.Fatal(err)
	}
	var ids []int
	for i, want := range []string{"hello", "hi, browser"} {
		if len(lines) != 2 {
			t.Fatalf("the page shows %q, want two lines", lines)
		}
		id, text, ok := strings.Cut(lines[i], ": ")
		n, err := strconv.Atoi(id)
		if !ok || err != nil || text != want || (i > 0 && n <= ids[i-1]) {
			t.Fatalf("line %d of the page is %q, want \"<oplog id>: %s\" with ids increasing (page: %q)", i+1, lines[i], want, lines)
		}
		ids = append(ids, n)
	}
	waitFor(t, "the server to record both acknowledged", 30*time.Second, func() bool {
		return records(t, srv.URL, "demo_APP", "users", "alice").Arrivals == 2
	})
	if len(p.consoleErrors) > 0 {
		t.Fatalf("the page logged errors: %q", p.consoleErrors)
	}
}

// readmeBrowserExample is the page of README's "In a browser": the
// indented block that starts with <!doctype html>, at most ten lines.
func readmeBrowserExample(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n### In a browser\n")
	if !ok {
		t.Fatal(`README.md has no "### In a browser" section`)
	}
	_, block, ok := strings.Cut(section, "\n    <!doctype html>\n")
	if !ok {
		t.Fatal(`README.md's "In a browser" has no indented <!doctype html> block`)
	}
	lines := []string{"<!doctype html>"}
	for _, l := range strings.Split(block, "\n") {
		if !strings.HasPrefix(l, "    ") {
			break
		}
		lines = append(lines, strings.TrimPrefix(l, "    "))
	}
	if len(lines) > 10 || lines[len(lines)-1] != "</script>" {
		t.Fatalf("README's browser example is %d lines (at most 10, ending with </script>):\n%s", len(lines), strings.Join(lines, "\n"))
	}
	return strings.Join(lines, "\n") + "\n"
}
