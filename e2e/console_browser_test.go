package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// browser is one headless Chromium for a console test, with its first tab.
type browser struct {
	t     *testing.T
	alloc context.Context
	tab   context.Context
	shots string
}

// newBrowser starts headless Chromium with a fresh profile, or skips the
// test when there is none (fails instead with OPSYNC_REQUIRE_CHROMIUM=1).
func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("OPSYNC_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("OPSYNC_REQUIRE_CHROMIUM=1 and no Chromium at %s: %v", chromiumPath, err)
		}
		t.Skipf("no Chromium at %s (apt-get install chromium)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	b := &browser{t: t, alloc: alloc, shots: screenshotDir(t)}
	b.tab = b.newTab()
	return b
}

// newTab opens another tab of the browser: its own sessionStorage, as a
// second window of the console.
func (b *browser) newTab() context.Context {
	b.t.Helper()
	// The first tab allocates the browser; later ones are its children
	// (browser options such as the log go only on the first).
	var tab context.Context
	var cancel context.CancelFunc
	if b.tab == nil {
		tab, cancel = chromedp.NewContext(b.alloc, chromedp.WithLogf(b.t.Logf))
	} else {
		tab, cancel = chromedp.NewContext(b.tab)
	}
	b.t.Cleanup(cancel)
	// The first Run starts the browser (or the tab) and must not carry a
	// timeout: that would stop the browser with it.
	if err := chromedp.Do(tab); err != nil {
		b.t.Fatalf("starting Chromium: %v", err)
	}
	return tab
}

// screenshotDir is where the run keeps its screenshots:
// OPSYNC_CONSOLE_SCREENSHOTS, else a temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("OPSYNC_CONSOLE_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// do runs steps on tab, failing the test (with what the page shows) on
// error; one call waits at most a minute.
func (b *browser) do(tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(tab, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage text:\n%s", what, err, b.pageText(tab))
	}
}

// text answers the text of the first element sel matches.
func (b *browser) text(tab context.Context, sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(tab, time.Minute)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v\npage text:\n%s", sel, err, b.pageText(tab))
	}
	return s
}

// eval answers a JavaScript expression's value.
func eval[T any](b *browser, tab context.Context, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(tab, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// untilJS waits until the JavaScript predicate is true, re-checked on
// every DOM change.
func untilJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(30*time.Second))
}

// pageText is the page's visible text, for failure messages.
func (b *browser) pageText(tab context.Context) string {
	ctx, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	return s
}

// shot saves a full-page PNG of tab as name.png in the screenshot dir.
func (b *browser) shot(tab context.Context, name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(tab, time.Minute)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn signs tab in at the console of base as operator.
func (b *browser) signIn(tab context.Context, base, token, operator string) {
	b.t.Helper()
	b.do(tab, "sign in",
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.SendKeys(chromedp.CSS("#operator"), operator),
		chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#nav")),
	)
}

// pickInstance makes id the console's current instance in tab, as the
// header's selector does.
func (b *browser) pickInstance(tab context.Context, id string) {
	b.t.Helper()
	b.do(tab, "pick instance "+id,
		untilJS(fmt.Sprintf(`[...document.querySelectorAll('#instance-select option')].some(o => o.value === %q)`, id)),
		chromedp.SetValue(chromedp.CSS("#instance-select"), id),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('instance-select').dispatchEvent(new Event('change'))`),
	)
}

// goTo opens a console page by its hash route and waits for it.
func (b *browser) goTo(tab context.Context, page string) {
	b.t.Helper()
	b.do(tab, "open "+page,
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = '#/%s'`, page)),
		chromedp.WaitVisible(chromedp.CSS("#page-"+page)),
	)
}

// present is a JavaScript predicate: an element matches the CSS selector
// sel.
func present(sel string) string {
	return "document.querySelector(" + js(sel) + ") !== null"
}

// js quotes s as a JavaScript string.
func js(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
