package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleLiveReset: the Live view's "Reset sync points" makes the page
// receive again from the point chosen: the retained entries above it come
// again (and not those at or below it), from 0 all of them; a
// single-device entry does not, once a device of the user acknowledged it
// (the page says so).
func TestConsoleLiveReset(t *testing.T) {
	b := newBrowser(t)
	s := startServer(t, t.TempDir())
	const inst, user = "ws_livereset", "u-reset"
	putBizType(t, s.URL, inst, "FEED", map[string]any{"target": "user", "multiDevice": true})
	putBizType(t, s.URL, inst, "ONE", map[string]any{"target": "user"})
	f1 := pushOK(t, s.URL, inst, "FEED", user, "f1")
	pushOK(t, s.URL, inst, "FEED", user, "f2")
	pushOK(t, s.URL, inst, "ONE", user, "o1")
	pushOK(t, s.URL, inst, "FEED", user, "f3")

	tab := b.tab
	b.signIn(tab, s.URL, adminToken, "ops")
	b.pickInstance(tab, inst)
	b.goTo(tab, "live")
	b.do(tab, "connect the Live view",
		untilJS(present(`#live-biz input[value="ONE"]`)),
		chromedp.SendKeys(chromedp.CSS("#live-form input[name=user]"), user),
		chromedp.Click(chromedp.CSS("#live-connect")),
		untilJS(`document.getElementById('live-status').dataset.state === 'connected'`),
	)
	shown := func() string {
		return strings.Join(eval[[]string](b, tab, `[...document.querySelectorAll('#live-rows tr')].map(r => r.dataset.msg).reverse()`), ",")
	}
	// arrived waits for msg's row, then answers the rows in arrival order.
	arrived := func(msg string) string {
		t.Helper()
		b.do(tab, msg+" arrives", untilJS(present(fmt.Sprintf(`#live-rows tr[data-msg="%s"]`, msg))))
		return shown()
	}
	if got := arrived("f3"); got != "f1,f2,o1,f3" {
		t.Fatalf("the first connection received %s, want f1,f2,o1,f3", got)
	}
	if pts := b.text(tab, "#live-points"); !strings.Contains(pts, "FEED=") || strings.Contains(pts, "FEED=0") {
		t.Fatalf("sync points after the backlog: %q", pts)
	}

	// The page acknowledged them; the reset must not race the acks to the
	// user's stream (o1's is what keeps it from coming again).
	waitFor(t, "the page's acks to reach the stream", 30*time.Second, func() bool { return records(t, s.URL, inst, "users", user).Arrivals == 4 })

	reset := func(point uint64) {
		t.Helper()
		b.do(tab, fmt.Sprintf("reset to %d", point),
			chromedp.SetValue(chromedp.CSS("#live-form input[name=resetTo]"), fmt.Sprint(point)),
			chromedp.Click(chromedp.CSS("#live-reset")),
			untilJS(`document.querySelectorAll('#live-rows tr').length === 0 || document.getElementById('live-status').dataset.state !== 'connected'`),
			untilJS(`document.getElementById('live-status').dataset.state === 'connected'`),
		)
	}
	// From f1's oplog id: f2 and f3 again, not f1 (at the point), not o1
	// (single-device, acknowledged). A push after the reset comes after
	// whatever the backlog holds, so its arrival closes the list.
	reset(f1)
	pushOK(t, s.URL, inst, "FEED", user, "f4")
	if got := arrived("f4"); got != "f2,f3,f4" {
		t.Fatalf("after a reset to f1's oplog id %d the page received %s, want f2,f3,f4", f1, got)
	}
	b.shot(tab, "13-live-reset")
	// From 0: every multi-device entry again.
	reset(0)
	pushOK(t, s.URL, inst, "FEED", user, "f5")
	if got := arrived("f5"); got != "f1,f2,f3,f4,f5" {
		t.Fatalf("after a reset to 0 the page received %s, want f1,f2,f3,f4,f5", got)
	}
	if note := b.pageText(tab); !strings.Contains(note, "except those of single-device bizTypes") {
		t.Fatalf("the Live view does not say what a reset does not bring back:\n%s", note)
	}
}
