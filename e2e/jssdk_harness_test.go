package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The harness of the JS SDK's browser tests: the SDK bundled with esbuild
// from sdk/js's sources, a static server for the test page, and
// sdk/js/e2e/driver.mjs driving Debian's Chromium headless (playwright-
// core, no browser download), reporting what the pages see as JSON lines.

// jsEvent is one line of the driver: a page's report, or a command's end.
type jsEvent struct {
	Page     string `json:"page"`
	Ev       string `json:"ev"`
	Cmd      string `json:"cmd"`
	Biz      string `json:"biz"`
	ID       string `json:"id"`
	Tid      string `json:"tid"`
	Payload  string `json:"payload"`
	Kind     string `json:"kind"`
	Action   string `json:"action"`
	Code     int    `json:"code"`
	Fatal    bool   `json:"fatal"`
	Message  string `json:"message"`
	Version  string `json:"version"`
	Data     string `json:"data"`
	DeviceID string `json:"deviceId"`
}

// jsPage is what the test learnt of one page; life counts its loads.
type jsPage struct {
	life      int
	msgs      []jsEvent
	blocks    []string
	errors    []jsEvent
	connected int
	disconn   int
	ready     int
	// A document: the version it reached, and its edits' end (with the
	// rebases they took).
	docVersion uint64
	docDone    int
	rebases    int
	// A document's record changes seen (onRecordChange), in order.
	records []jsEvent
	// What the page threw or logged as an error.
	consoleErrors []string
}

// browser is a running driver.
type sdkBrowser struct {
	t      *testing.T
	stdin  io.Writer
	events chan jsEvent
	stderr *lockedBuffer
	pages  map[string]*jsPage
	site   string // the test page's base URL
	dir    string // the site's directory
	// lastDone: the commands (page|cmd) the driver finished, not yet
	// waited for, with their data.
	lastDone map[string]*string
}

// needBrowser finds node and chromium, or skips (fails with
// OPSYNC_REQUIRE_NODE=1 / OPSYNC_REQUIRE_CHROMIUM=1).
func needBrowser(t *testing.T) (nodeBin, chromium string) {
	t.Helper()
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("OPSYNC_REQUIRE_NODE") == "1" {
			t.Fatal("node not found and OPSYNC_REQUIRE_NODE=1")
		}
		t.Skip("node not found: the JS SDK's browser test needs Node 20+ and npm (set OPSYNC_REQUIRE_NODE=1 to fail instead)")
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium, err = exec.LookPath("chromium")
	}
	if err != nil {
		if os.Getenv("OPSYNC_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("chromium not found and OPSYNC_REQUIRE_CHROMIUM=1")
		}
		t.Skip("chromium not found: apt-get install chromium (set OPSYNC_REQUIRE_CHROMIUM=1 to fail instead)")
	}
	return nodeBin, chromium
}

// startBrowser installs sdk/js's packages if needed, bundles the SDK
// into a temporary site beside the test page, serves it, and starts the
// driver.
func startBrowser(t *testing.T) *sdkBrowser {
	t.Helper()
	nodeBin, chromium := needBrowser(t)
	dir, _ := filepath.Abs(filepath.Join("..", "sdk", "js"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		npm := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--prefer-offline")
		npm.Dir = dir
		if out, err := npm.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	// The bundle README's quick start builds (npm run bundle), served
	// beside the test pages as it says.
	bundle := exec.Command("npm", "run", "--silent", "bundle")
	bundle.Dir = dir
	if out, err := bundle.CombinedOutput(); err != nil {
		t.Fatalf("bundling the SDK: %v\n%s", err, out)
	}
	built, err := os.ReadFile(filepath.Join(dir, "dist", "opsync-client.js"))
	if err != nil {
		t.Fatal(err)
	}
	site := t.TempDir()
	if err := os.WriteFile(filepath.Join(site, "opsync-client.js"), built, 0o644); err != nil {
		t.Fatal(err)
	}
	// A page without an icon link (README's example) asks for one: an
	// empty one keeps its console free of the 404.
	if err := os.WriteFile(filepath.Join(site, "favicon.ico"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "e2e", "page.html"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(site, "index.html"), page, 0o644); err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(http.FileServer(http.Dir(site)))
	t.Cleanup(web.Close)

	cmd := exec.Command(nodeBin, filepath.Join(dir, "e2e", "driver.mjs"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	b := &sdkBrowser{t: t, stdin: stdin, events: make(chan jsEvent, 1<<16), stderr: &lockedBuffer{}, pages: map[string]*jsPage{}, site: web.URL, dir: site}
	cmd.Stderr = b.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(b.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var e jsEvent
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				e = jsEvent{Ev: "garbage", Message: sc.Text()}
			}
			b.events <- e
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		wg.Wait()
		if t.Failed() {
			t.Logf("driver stderr:\n%s", b.stderr.String())
		}
	})
	return b
}

// command sends a command to the driver and waits for its end.
func (b *sdkBrowser) command(page, cmd string, extra map[string]string) string {
	b.t.Helper()
	c := map[string]string{"cmd": cmd, "page": page}
	for k, v := range extra {
		c[k] = v
	}
	line, _ := json.Marshal(c)
	if _, err := fmt.Fprintf(b.stdin, "%s\n", line); err != nil {
		b.t.Fatalf("driver: %v\n%s", err, b.stderr.String())
	}
	var failed string
	b.until(fmt.Sprintf("%s of page %s", cmd, page), 60*time.Second, func() bool {
		return failed != "" || b.lastDone[page+"|"+cmd] != nil
	}, func(e jsEvent) {
		if e.Page == page && e.Cmd == cmd && e.Ev == "failed" {
			failed = e.Message
		}
	})
	if failed != "" {
		b.t.Fatalf("driver: %s of %s: %s", cmd, page, failed)
	}
	data := *b.lastDone[page+"|"+cmd]
	delete(b.lastDone, page+"|"+cmd)
	return data
}

// eval evaluates a JS expression in a page and answers it as a string.
func (b *sdkBrowser) eval(page, js string) string {
	b.t.Helper()
	return b.command(page, "eval", map[string]string{"js": js})
}

// open loads the test page as page with the query q.
func (b *sdkBrowser) open(name string, q url.Values) *jsPage {
	b.t.Helper()
	p := &jsPage{life: 1}
	b.pages[name] = p
	b.command(name, "open", map[string]string{"url": b.site + "/index.html?" + q.Encode()})
	return p
}

// openFile writes a page of the site, named file, and loads it as page.
func (b *sdkBrowser) openFile(name, file, content string) *jsPage {
	b.t.Helper()
	if err := os.WriteFile(filepath.Join(b.dir, file), []byte(content), 0o644); err != nil {
		b.t.Fatal(err)
	}
	p := &jsPage{life: 1}
	b.pages[name] = p
	b.command(name, "open", map[string]string{"url": b.site + "/" + file})
	return p
}

// reload reloads a page: its client starts over from what IndexedDB kept.
func (b *sdkBrowser) reload(name string) {
	b.t.Helper()
	b.pages[name].life++
	b.command(name, "reload", nil)
}

// until takes the driver's events into the pages until cond holds; also
// (optional) sees every event.
func (b *sdkBrowser) until(what string, timeout time.Duration, cond func() bool, also ...func(jsEvent)) {
	b.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case e, ok := <-b.events:
			if !ok {
				b.t.Fatalf("the driver ended while waiting for %s:\n%s", what, b.stderr.String())
			}
			b.take(e)
			for _, f := range also {
				f(e)
			}
		case <-deadline.C:
			b.t.Fatalf("timed out after %v waiting for %s; pages:\n%s", timeout, what, b.summary())
		}
	}
}

func (b *sdkBrowser) take(e jsEvent) {
	if e.Ev == "done" {
		if b.lastDone == nil {
			b.lastDone = map[string]*string{}
		}
		data := e.Data
		b.lastDone[e.Page+"|"+e.Cmd] = &data
		return
	}
	p := b.pages[e.Page]
	if p == nil {
		if e.Ev == "garbage" {
			b.t.Logf("driver printed: %s", e.Message)
		}
		return
	}
	switch e.Ev {
	case "msg":
		p.msgs = append(p.msgs, e)
	case "block":
		p.blocks = append(p.blocks, e.Version+":"+e.Data)
	case "error":
		p.errors = append(p.errors, e)
	case "connected":
		p.connected++
	case "disconnected":
		p.disconn++
	case "ready":
		p.ready++
	case "doc":
		p.docVersion, _ = strconv.ParseUint(e.Version, 10, 64)
	case "record":
		p.records = append(p.records, e)
	case "docdone":
		p.docDone++
		p.rebases, _ = strconv.Atoi(e.Data)
	case "pageerror", "console":
		b.t.Logf("page %s: %s: %s", e.Page, e.Ev, e.Message)
		p.consoleErrors = append(p.consoleErrors, e.Message)
	}
}

// tids are the thirdMsgIds a page received, in order.
func (p *jsPage) tids() []string {
	out := make([]string, len(p.msgs))
	for i, m := range p.msgs {
		out[i] = m.Tid
	}
	return out
}

// hasAll reports whether the page received every id of want.
func (p *jsPage) hasAll(want []string) bool {
	got := map[string]bool{}
	for _, m := range p.msgs {
		got[m.Tid] = true
	}
	for _, w := range want {
		if !got[w] {
			return false
		}
	}
	return true
}

func seqIDs(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%04d", prefix, i))
	}
	return out
}

func joinShort(ss []string) string {
	if len(ss) > 20 {
		return strings.Join(ss[:10], ",") + ",…," + strings.Join(ss[len(ss)-10:], ",")
	}
	return strings.Join(ss, ",")
}

// summary describes the pages for a failure.
func (b *sdkBrowser) summary() string {
	var sb strings.Builder
	for name, p := range b.pages {
		fmt.Fprintf(&sb, "%s: life %d, %d messages (last %s), connected %d, disconnected %d, errors %+v, blocks %v\n",
			name, p.life, len(p.msgs), joinShort(p.tids()[max(0, len(p.msgs)-5):]), p.connected, p.disconn, p.errors, p.blocks)
	}
	return sb.String()
}
