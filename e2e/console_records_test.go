package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleRecordsEntryStates: the Records page shows each retained
// entry's state as the records tell it (statesFixture): acknowledged by
// a device, or by the user for a single-device entry; delivered once;
// not delivered; then retried with its deliveries; then gone and counted
// as dropped.
func TestConsoleRecordsEntryStates(t *testing.T) {
	b := newBrowser(t)
	f := newStatesFixture(t)
	f.ack(t)

	tab := b.tab
	b.signIn(tab, f.srv.URL, adminToken, "ops")
	b.pickInstance(tab, statesInstance)
	b.goTo(tab, "records")
	show := func() {
		t.Helper()
		b.do(tab, "records of "+statesUser,
			chromedp.SetValue(chromedp.CSS("#records-form input[name=who]"), statesUser),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('records-out').replaceChildren()`),
			chromedp.Click(chromedp.CSS("#records-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("#rec-dropped")),
		)
	}
	// check finds each entry's state cell: its data-state and its text.
	check := func(want map[string][2]string) {
		t.Helper()
		shown := eval[[]string](b, tab, `[...document.querySelectorAll('#records-table tbody tr')].map(r => r.dataset.msg)`)
		if len(shown) != len(want) {
			t.Fatalf("entries shown %v, want %d", shown, len(want))
		}
		for msg, w := range want {
			cell := fmt.Sprintf(`document.querySelector('#records-table tr[data-msg=%s] td.entry-state')`, msg)
			state := eval[string](b, tab, cell+`.dataset.state`)
			text := strings.Join(strings.Fields(eval[string](b, tab, cell+`.textContent`)), " ")
			if state != w[0] || text != w[1] {
				t.Errorf("%s: state %q %q, want %q %q", msg, state, text, w[0], w[1])
			}
		}
	}

	show()
	check(map[string][2]string{
		"a1": {"acknowledged", "acknowledged by d1"},
		"a2": {"delivered", "delivered (once)"},
		"n1": {"undelivered", "not delivered"},
		"s1": {"acknowledged", "acknowledged by the user"},
	})
	b.shot(tab, "12-records-states")

	f.redeliver(t)
	show()
	check(map[string][2]string{
		"a1": {"acknowledged", "acknowledged by d1"},
		"a2": {"retried", "retried (2 deliveries)"},
		"n1": {"undelivered", "not delivered"},
		"s1": {"acknowledged", "acknowledged by the user"},
	})
	if d := b.text(tab, "#rec-dropped"); d != "0" {
		t.Fatalf("dropped shown before a2's retries were spent: %q", d)
	}

	f.spend(t)
	show()
	check(map[string][2]string{
		"a1": {"acknowledged", "acknowledged by d1"},
		"n1": {"undelivered", "not delivered"},
		"s1": {"acknowledged", "acknowledged by the user"},
	})
	if d := b.text(tab, "#rec-dropped"); d != "1" {
		t.Fatalf("dropped shown after a2's retries were spent: %q, want 1", d)
	}
}
