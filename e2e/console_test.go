package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleFlow drives the web console in headless Chromium through an
// operator's day: sign in, create an instance and a bizType config, send
// a push from the Send page and see it arrive in the Live view (a second
// tab connected over the client WebSocket) and in the user's records,
// take the config offline and see the push refused, find both changes in
// the operation log with the operator, look at the node set, sign out.
// Every page is saved as a screenshot.
func TestConsoleFlow(t *testing.T) {
	b := newBrowser(t)
	s := startServer(t, t.TempDir(), "--webhook-private")
	tab := b.tab
	const inst, biz, user, operator = "ws_console", "chat", "u-console", "alice"

	b.do(tab, "open the console", chromedp.Navigate(s.URL+"/console/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	b.shot(tab, "01-signin")
	b.signIn(tab, s.URL, adminToken, operator)

	// Instances: create one; its keys are shown once, with copy buttons.
	b.do(tab, "create an instance",
		chromedp.WaitVisible(chromedp.CSS("#create-instance")),
		chromedp.SendKeys(chromedp.CSS("#create-instance input[name=instanceId]"), inst),
		chromedp.Click(chromedp.CSS("#create-instance button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#keys #api-key")),
		untilJS(present(fmt.Sprintf(`#instances-table tr[data-instance="%s"]`, inst))),
	)
	apiKey := b.text(tab, "#api-key")
	if len(apiKey) < 40 {
		t.Fatalf("the API key shown is %q", apiKey)
	}
	if n := eval[int](b, tab, `document.querySelectorAll('#keys button').length`); n != 2 {
		t.Fatalf("%d copy buttons beside the keys, want 2", n)
	}
	// The key shown is the instance's: the push API takes it (and
	// answers for the bizType, which does not exist yet), and refuses
	// another.
	pushWith := func(key string) string {
		var ans pushAnswer
		callWith(t, http.MethodPost, s.URL+"/webapi/sync/single?instanceId="+inst,
			map[string]any{"bizType": "nosuch", "linkToken": user, "thirdMsgId": "k", "payload": "x"}, &ans,
			http.Header{"X-Opsync-Api-Key": {key}, "Content-Type": {"application/json"}})
		return ans.Msg
	}
	if got := pushWith(apiKey); got != "BIZ_NOT_ONLINE" {
		t.Fatalf("a push with the key the console showed: %s", got)
	}
	if got := pushWith(apiKey + "x"); got != "UNAUTHORIZED" {
		t.Fatalf("a push with another key: %s", got)
	}
	b.shot(tab, "02-instances")
	if got := eval[string](b, tab, `document.getElementById('instance-select').value`); got != inst {
		t.Fatalf("current instance after creating %s: %q", inst, got)
	}

	// bizType configs: an invalid config shows the API's message; a good
	// one appears online.
	b.goTo(tab, "configs")
	b.do(tab, "a config the API refuses",
		chromedp.Click(chromedp.CSS("#new-config")),
		chromedp.WaitVisible(chromedp.CSS("#config-form")),
		chromedp.SendKeys(chromedp.CSS("#config-form input[name=bizType]"), biz),
		chromedp.SetValue(chromedp.CSS("#config-form input[name=maxRetries]"), "9"),
		chromedp.Click(chromedp.CSS("#config-form button[type=submit]")),
		untilJS(`document.getElementById('config-error').textContent.includes('INVALID')`),
	)
	if msg := b.text(tab, "#config-error"); !strings.Contains(msg, "maxRetries") {
		t.Fatalf("the refusal shown does not name maxRetries: %q", msg)
	}
	b.do(tab, "create a config",
		chromedp.SetValue(chromedp.CSS("#config-form input[name=maxRetries]"), "3"),
		chromedp.SendKeys(chromedp.CSS("#config-form input[name=description]"), "chat messages"),
		chromedp.Click(chromedp.CSS("#config-form button[type=submit]")),
		untilJS(present(fmt.Sprintf(`#configs-table tr[data-biz="%s"] .badge.on`, biz))),
	)
	b.shot(tab, "03-configs")
	var cfg struct {
		Config struct {
			MaxRetries  uint32 `json:"maxRetries"`
			Description string `json:"description"`
			Online      bool   `json:"online"`
		} `json:"config"`
	}
	if st := call(t, http.MethodGet, s.URL+"/api/v1/instances/"+inst+"/biztypes/"+biz, nil, &cfg); st != 200 || cfg.Config.MaxRetries != 3 || cfg.Config.Description != "chat messages" || !cfg.Config.Online {
		t.Fatalf("the config the console created: %d %+v", st, cfg.Config)
	}

	// A second tab: the Live view, connected as the user.
	live := b.newTab()
	b.signIn(live, s.URL, adminToken, operator)
	b.pickInstance(live, inst)
	b.goTo(live, "live")
	b.do(live, "connect the Live view",
		untilJS(present(fmt.Sprintf(`#live-biz input[value="%s"]`, biz))),
		chromedp.SendKeys(chromedp.CSS("#live-form input[name=user]"), user),
		chromedp.Click(chromedp.CSS("#live-connect")),
		untilJS(`document.getElementById('live-status').dataset.state === 'connected'`),
	)

	// Send, from the first tab.
	b.goTo(tab, "send")
	send := func(msgID, payload string) string {
		t.Helper()
		b.do(tab, "send "+msgID,
			chromedp.SetValue(chromedp.CSS("#send-form input[name=bizType]"), biz),
			chromedp.SetValue(chromedp.CSS("#send-form input[name=linkToken]"), user),
			chromedp.SetValue(chromedp.CSS("#send-form input[name=thirdMsgId]"), msgID),
			chromedp.SetValue(chromedp.CSS("#send-form textarea[name=payload]"), payload),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('send-answer').replaceChildren()`),
			chromedp.Click(chromedp.CSS("#send-form button[type=submit]")),
			untilJS(`document.getElementById('send-result') || document.getElementById('send-error').textContent`),
		)
		return b.pageText(tab)
	}
	if got := send("m1", "hello from the console"); !strings.Contains(got, "SUCCESS: oplog id") {
		t.Fatalf("the Send page after a push:\n%s", got)
	}
	b.shot(tab, "04-send")

	// It arrives in the Live view, which acknowledges it.
	b.do(live, "the push arrives in the Live view",
		untilJS(`document.querySelector('#live-rows tr[data-msg=m1]')`))
	if row := b.text(live, "#live-rows tr[data-msg=m1]"); !strings.Contains(row, "hello from the console") || !strings.Contains(row, biz) {
		t.Fatalf("the Live view's row: %q", row)
	}
	if pts := b.text(live, "#live-points"); !strings.Contains(pts, biz+"=") || strings.Contains(pts, biz+"=0") {
		t.Fatalf("the Live view's sync points after a delivery: %q", pts)
	}
	b.shot(live, "console-live") // README

	// The user's records: the entry, one push, and its arrival once the
	// Live view's ack is counted.
	b.goTo(tab, "records")
	var arrivals string
	for range 50 {
		b.do(tab, "records of "+user,
			chromedp.SetValue(chromedp.CSS("#records-form input[name=who]"), user),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('records-out').replaceChildren()`),
			chromedp.Click(chromedp.CSS("#records-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("#rec-arrivals")),
		)
		if arrivals = b.text(tab, "#rec-arrivals"); arrivals == "1" {
			break
		}
	}
	if arrivals != "1" {
		t.Fatalf("arrivals in the records: %q, want 1", arrivals)
	}
	if p := b.text(tab, "#rec-pushes"); p != "1" {
		t.Fatalf("pushes in the records: %q, want 1", p)
	}
	if row := b.text(tab, "#records-table tr[data-msg=m1]"); !strings.Contains(row, biz) {
		t.Fatalf("the records' entry: %q", row)
	}
	// The Live view acknowledged it; the bizType is single-device (the
	// default): the user acknowledged it.
	if st := b.text(tab, "#records-table tr[data-msg=m1] td.entry-state"); !strings.Contains(st, "acknowledged by the user") {
		t.Fatalf("the records' entry's state: %q", st)
	}
	// The chart: the API's 31 days of two bars, today's push and arrival
	// bars each counting 1 (and drawn), every other day's 0.
	if n := eval[int](b, tab, `document.querySelectorAll('#records-chart rect[data-kind=pushes]').length`); n != 31 {
		t.Fatalf("%d push bars, want 31", n)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	for _, kind := range []string{"pushes", "arrivals"} {
		bar := fmt.Sprintf(`document.querySelector('#records-chart rect[data-kind=%s][data-day="%s"]')`, kind, today)
		if c := eval[string](b, tab, bar+`.getAttribute('data-count')`); c != "1" {
			t.Fatalf("today's %s bar counts %q, want 1", kind, c)
		}
		if h := eval[float64](b, tab, bar+`.getAttribute('height') * 1`); h <= 0 {
			t.Fatalf("today's %s bar has height %v", kind, h)
		}
		if other := eval[int](b, tab, fmt.Sprintf(`[...document.querySelectorAll('#records-chart rect[data-kind=%s]')].filter(r => r.dataset.day !== "%s" && r.dataset.count !== "0").length`, kind, today)); other != 0 {
			t.Fatalf("%d other days count %s", other, kind)
		}
	}
	b.shot(tab, "console-records") // README

	// Offline, with confirmation; then the push is refused.
	b.goTo(tab, "configs")
	b.do(tab, "take the config offline",
		untilJS(present(fmt.Sprintf(`#configs-table tr[data-biz="%s"] button[data-act=offline]`, biz))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#configs-table tr[data-biz="%s"] button[data-act=offline]`, biz))),
		chromedp.WaitVisible(chromedp.CSS("#confirm")),
		chromedp.Click(chromedp.CSS("#confirm-ok")),
		untilJS(present(fmt.Sprintf(`#configs-table tr[data-biz="%s"] .badge.off`, biz))),
	)
	b.goTo(tab, "send")
	if got := send("m2", "refused"); !strings.Contains(got, "BIZ_NOT_ONLINE") {
		t.Fatalf("the Send page after a push to an offline bizType:\n%s", got)
	}

	// The operation log shows both changes with their operator.
	b.goTo(tab, "operations")
	b.do(tab, "the operation log", untilJS(`document.querySelector('#operations-table tr[data-action=OFFLINE_CONFIG]')`))
	for _, action := range []string{"CREATE_INSTANCE", "CREATE_CONFIG", "CREATE_PUSH", "OFFLINE_CONFIG"} {
		row := b.text(tab, fmt.Sprintf("#operations-table tr[data-action=%s]", action))
		if !strings.Contains(row, operator) {
			t.Errorf("operation %s: %q does not name the operator %s", action, row, operator)
		}
	}
	b.do(tab, "filter by action",
		chromedp.SetValue(chromedp.CSS("#operations-form select[name=action]"), "OFFLINE_CONFIG"),
		chromedp.Click(chromedp.CSS("#operations-form button[type=submit]")),
		untilJS(`document.querySelectorAll('#operations-table tbody tr').length === 1`),
	)
	// The bizType filter: the config's rows and its push, not the
	// instance's creation.
	b.do(tab, "filter by bizType",
		chromedp.SetValue(chromedp.CSS("#operations-form select[name=action]"), ""),
		chromedp.SetValue(chromedp.CSS("#operations-form input[name=bizType]"), biz),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('operations-out').replaceChildren()`),
		chromedp.Click(chromedp.CSS("#operations-form button[type=submit]")),
		untilJS(`document.querySelector('#operations-table tr[data-action=CREATE_CONFIG]')`),
	)
	if n := eval[int](b, tab, fmt.Sprintf(`[...document.querySelectorAll('#operations-table tbody tr')].filter(r => r.cells[3].textContent !== %q).length`, biz)); n != 0 {
		t.Fatalf("%d rows of the bizType filter are about another target", n)
	}
	for _, action := range []string{"CREATE_CONFIG", "CREATE_PUSH", "OFFLINE_CONFIG"} {
		if !eval[bool](b, tab, fmt.Sprintf(`!!document.querySelector('#operations-table tr[data-action=%s]')`, action)) {
			t.Errorf("the bizType filter left out %s", action)
		}
	}
	b.do(tab, "the whole log", chromedp.Evaluate[chromedp.Void](`document.querySelector('#operations-form input[name=bizType]').value = ''`),
		chromedp.SetValue(chromedp.CSS("#operations-form select[name=action]"), ""),
		chromedp.Click(chromedp.CSS("#operations-form button[type=submit]")),
		untilJS(`document.querySelector('#operations-table tr[data-action=CREATE_INSTANCE]')`))
	b.shot(tab, "07-operations")

	// Node set: a standalone node's local journal, refreshed live.
	b.goTo(tab, "nodes")
	b.do(tab, "the node set", chromedp.WaitVisible(chromedp.CSS("#nodes-status")))
	if st := b.text(tab, "#nodes-status"); !strings.Contains(st, "local") {
		t.Fatalf("node set: %q", st)
	}
	b.shot(tab, "08-nodes")
	b.goTo(tab, "blocks")
	b.shot(tab, "09-blocks")

	// Phone width: the navigation wraps, no horizontal scroll of the page.
	b.do(tab, "phone width", chromedp.EmulateViewport(390, 844), chromedp.Evaluate[chromedp.Void](`location.hash = '#/configs'`),
		chromedp.WaitVisible(chromedp.CSS("#page-configs")))
	if w := eval[int](b, tab, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("at 390 px wide the page is %d px wide", w)
	}
	b.shot(tab, "10-configs-phone")

	// Sign out clears the token.
	b.do(tab, "sign out", chromedp.Click(chromedp.CSS("#sign-out")), chromedp.WaitVisible(chromedp.CSS("#signin")))
	if tok := eval[string](b, tab, `sessionStorage.getItem('opsync.adminToken') || ''`); tok != "" {
		t.Fatalf("the token is still in sessionStorage after sign-out")
	}
	if txt := b.text(tab, "#page"); txt != "" {
		t.Fatalf("page content after sign-out: %q", txt)
	}
}

// TestConsoleWrongToken: a wrong token is refused with an error, nothing
// is stored and no data shows.
func TestConsoleWrongToken(t *testing.T) {
	b := newBrowser(t)
	s := startServer(t, t.TempDir(), "--webhook-private")
	ensureInstance(t, s.URL, "ws_secret")
	tab := b.tab
	b.do(tab, "sign in with a wrong token",
		chromedp.Navigate(s.URL+"/console/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), "not-the-token"),
		chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
		untilJS(`document.getElementById('signin-error').textContent !== ''`),
	)
	if msg := b.text(tab, "#signin-error"); !strings.Contains(msg, "not the admin token") {
		t.Fatalf("the error shown: %q", msg)
	}
	if tok := eval[string](b, tab, `sessionStorage.getItem('opsync.adminToken') || ''`); tok != "" {
		t.Fatalf("a refused token was stored")
	}
	if txt := b.pageText(tab); strings.Contains(txt, "ws_secret") {
		t.Fatalf("data shows after a wrong token:\n%s", txt)
	}
	if hidden := eval[bool](b, tab, `document.getElementById('nav').hidden`); !hidden {
		t.Fatalf("the navigation shows after a wrong token")
	}
	b.shot(tab, "00-wrong-token")
}

// TestConsoleStaticOnly: the console's files need no token and hold no
// data; the API they call still needs the admin token, and the console's
// path serves nothing but its files.
func TestConsoleStaticOnly(t *testing.T) {
	s := startServer(t, t.TempDir(), "--webhook-private")
	ensureInstance(t, s.URL, "ws_private")
	get := func(path string) (int, string, http.Header) {
		t.Helper()
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header
	}
	for _, p := range []string{"/console/", "/console/app.js", "/console/pb.js", "/console/pages/live.js", "/console/pages/cards.js", "/console/pages/documents.js", "/console/style.css"} {
		st, body, hdr := get(p)
		if st != 200 || strings.Contains(body, "ws_private") {
			t.Fatalf("GET %s without a token: %d %.80q", p, st, body)
		}
		if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Fatalf("GET %s: Content-Security-Policy %q", p, csp)
		}
	}
	if _, _, hdr := get("/console/app.js"); !strings.HasPrefix(hdr.Get("Content-Type"), "text/javascript") {
		t.Fatalf("app.js is served as %q: browsers refuse modules that are not JavaScript", hdr.Get("Content-Type"))
	}
	for _, p := range []string{"/api/v1/instances", "/api/v1/cluster", "/api/v1/instances/ws_private/operations",
		"/api/v1/instances/ws_private/users/u/records?days=31", "/api/v1/instances/ws_private/cards/c", "/api/v1/instances/ws_private/documents/d", "/api/v1/instances/ws_private/doc/webhooks", "/console/../api/v1/instances",
		"/console/%2e%2e/api/v1/instances", "/console/nosuchfile"} {
		st, body, _ := get(p)
		if st == 200 || strings.Contains(body, "ws_private") {
			t.Fatalf("GET %s without a token: %d %.200q", p, st, body)
		}
	}
}
