package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// adminCardAnswer is the admin API's records view of a card.
type adminCardAnswer struct {
	Card struct {
		cardJSON
		Viewers uint32 `json:"viewers"`
	} `json:"card"`
	Error struct{ Code string } `json:"error"`
}

// TestAdminCardView: GET /api/v1/instances/{id}/cards/{outTrackId} shows
// a card's data, private data and recipients under the admin token, as
// the card API's GET does under the instance's key; an unknown card is
// 404 NOT_FOUND, another instance's card is not found under this one.
func TestAdminCardView(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_CARDADMIN"
	ensureInstance(t, srv.URL, inst)
	ensureInstance(t, srv.URL, "ws_OTHER")
	createCard(t, srv.URL, inst, "card-a", map[string]any{"userId": "alice", "userIdType": 1,
		"cardData": params("title", "poll"), "privateData": map[string]any{"bob": params("mine", "b")}})
	var a adminCardAnswer
	if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+inst+"/cards/card-a", nil, &a); st != 200 {
		t.Fatalf("admin card view: %d %+v", st, a.Error)
	}
	c := a.Card
	if c.OutTrackID != "card-a" || c.Version != 1 || c.CardData.CardParamMap["title"] != "poll" || c.PrivateData["bob"].CardParamMap["mine"] != "b" ||
		strings.Join(c.Recipients, ",") != "alice,bob" {
		t.Fatalf("admin card view: %+v", c)
	}
	for _, p := range []string{"/api/v1/instances/" + inst + "/cards/nosuch", "/api/v1/instances/ws_OTHER/cards/card-a"} {
		var e adminCardAnswer
		if st := call(t, http.MethodGet, srv.URL+p, nil, &e); st != 404 || e.Error.Code != "NOT_FOUND" {
			t.Fatalf("GET %s: %d %+v, want 404 NOT_FOUND", p, st, e.Error)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/instances/"+inst+"/cards/card-a", nil)
	req.Header.Set("x-acs-dingtalk-access-token", apiKey(t, srv.URL, inst)) // the card API's credential is not the admin token
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("admin card view with the instance's key: %d, want 401", resp.StatusCode)
	}
}

// TestConsoleFamilies: the Blocks view shows a block's current version
// and its viewers per node; the Cards view a card's data and recipients
// (who got it, and their private data); an unknown one shows the API's
// error where it happened.
func TestConsoleFamilies(t *testing.T) {
	b := newBrowser(t)
	s := startServer(t, t.TempDir())
	const inst = "ws_families"
	ensureInstance(t, s.URL, inst)

	blockID := createBlock(t, s.URL, inst, map[string]any{"title": "console poll"})
	if st, a := updateBlock(t, s.URL, inst, blockID, `{"votes":1}`, ""); st != 200 {
		t.Fatalf("update block: %d %+v", st, a)
	}
	v := connectViewer(t, s.URL, inst, "viewer-1", "vd1", blockID)
	v.nextState(t)
	waitFor(t, "the block's viewer to be counted", 30*time.Second, func() bool {
		var a struct {
			Viewers struct{ Total int } `json:"viewers"`
		}
		return call(t, http.MethodGet, s.URL+"/api/v1/instances/"+inst+"/blocks/"+blockID, nil, &a) == 200 && a.Viewers.Total == 1
	})
	createCard(t, s.URL, inst, "card-console", map[string]any{"userId": "alice", "userIdType": 1,
		"cardData": params("title", "lunch poll", "votes", "3"), "privateData": map[string]any{"bob": params("mine", "soup")}})

	tab := b.tab
	b.signIn(tab, s.URL, adminToken, "ops")
	b.pickInstance(tab, inst)

	b.goTo(tab, "blocks")
	b.do(tab, "show the block",
		chromedp.SetValue(chromedp.CSS("#blocks-form input[name=block]"), blockID),
		chromedp.Click(chromedp.CSS("#blocks-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#block-table")),
	)
	field := func(table, name string) string {
		return strings.TrimSpace(strings.TrimPrefix(b.text(tab, fmt.Sprintf(`%s tr[data-field="%s"] td`, table, name)), name))
	}
	if got := field("#block-table", "Current version"); got != "2" {
		t.Fatalf("the block's current version shown: %q, want 2", got)
	}
	if got := field("#block-table", "Viewers now"); got != "1" {
		t.Fatalf("the block's viewers shown: %q, want 1", got)
	}
	if got := field("#block-table", "Title"); got != "console poll" {
		t.Fatalf("the block's title shown: %q", got)
	}
	if n := eval[int](b, tab, `document.querySelectorAll('#block-viewers tbody tr').length`); n != 1 {
		t.Fatalf("%d nodes with viewers, want 1", n)
	}
	b.shot(tab, "11-blocks")
	b.do(tab, "an unknown block",
		chromedp.SetValue(chromedp.CSS("#blocks-form input[name=block]"), "nosuch"),
		chromedp.Click(chromedp.CSS("#blocks-form button[type=submit]")),
		untilJS(`document.getElementById('blocks-error').textContent.includes('NOT_FOUND')`),
	)
	if eval[bool](b, tab, present("#block-table")) {
		t.Fatal("an unknown block left the last block shown")
	}

	b.goTo(tab, "cards")
	b.do(tab, "show the card",
		chromedp.SetValue(chromedp.CSS("#cards-form input[name=card]"), "card-console"),
		chromedp.Click(chromedp.CSS("#cards-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#card-table")),
	)
	if got := field("#card-table", "Version"); got != "1" {
		t.Fatalf("the card's version shown: %q", got)
	}
	if row := b.text(tab, `#card-data tr[data-key="title"]`); !strings.Contains(row, "lunch poll") {
		t.Fatalf("the card's data: %q", row)
	}
	if row := b.text(tab, `#card-data tr[data-key="votes"]`); !strings.Contains(row, "3") {
		t.Fatalf("the card's data: %q", row)
	}
	users := eval[[]string](b, tab, `[...document.querySelectorAll('#card-recipients tbody tr')].map(r => r.dataset.user)`)
	if strings.Join(users, ",") != "alice,bob" {
		t.Fatalf("the card's recipients shown: %v, want alice,bob", users)
	}
	if row := b.text(tab, `#card-recipients tr[data-user="bob"]`); !strings.Contains(row, "mine=soup") {
		t.Fatalf("bob's row: %q", row)
	}
	b.shot(tab, "12-cards")
	b.do(tab, "an unknown card",
		chromedp.SetValue(chromedp.CSS("#cards-form input[name=card]"), "nosuch"),
		chromedp.Click(chromedp.CSS("#cards-form button[type=submit]")),
		untilJS(`document.getElementById('cards-error').textContent.includes('NOT_FOUND')`),
	)
	if eval[bool](b, tab, present("#card-table")) {
		t.Fatal("an unknown card left the last card shown")
	}
}
