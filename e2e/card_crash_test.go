package e2e

import (
	"net/http"
	"path/filepath"
	"testing"
)

// kill -9 right after a successful create, update, delivery and callback
// registration: after a restart all of it is there (each was journaled
// before its answer), and a viewer sees the answered version.
func TestCardKill9KeepsAnsweredWrites(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "--card-callback-private")
	const inst = "ws_CARDCRASH"
	createCard(t, srv.URL, inst, "crash-1", map[string]any{"userId": "alice", "cardData": params("v", "1"),
		"privateData": map[string]any{"bob": params("p", "1")}})
	updateCard(t, srv.URL, inst, map[string]any{"outTrackId": "crash-1", "cardData": params("v", "2"),
		"privateData": map[string]any{"bob": params("p", "2")}})
	if rs := deliver(t, srv.URL, inst, "crash-1", "dtv1.card//im_robot.carl", nil); !rs[0].Success {
		t.Fatalf("deliver: %+v", rs)
	}
	st, a := cardAPI(t, srv.URL, inst, http.MethodPost, "/v1.0/card/callbacks/register", map[string]any{"callbackRouteKey": "rk", "callbackUrl": "http://127.0.0.1:9/cb"})
	cardOK(t, st, a, nil)
	srv.kill9()

	srv = startServer(t, dir, "--card-callback-private")
	c := getCard(t, srv.URL, inst, "crash-1")
	if c.Version != 3 || c.CardData.CardParamMap["v"] != "2" || c.PrivateData["bob"].CardParamMap["p"] != "2" || len(c.Delivered) != 1 {
		t.Fatalf("after kill -9: %+v", c)
	}
	st, a = cardAPI(t, srv.URL, inst, http.MethodPost, "/v1.0/card/callbacks/register", map[string]any{"callbackRouteKey": "rk", "callbackUrl": "http://127.0.0.1:9/cb"})
	if st != http.StatusBadRequest || a.Code != "param.callbackRouteKeyExist" {
		t.Fatalf("the registration was lost: HTTP %d %+v", st, a)
	}
	bob := connectCardViewer(t, srv.URL, inst, "bob", "dev-b", filepath.Join(t.TempDir(), "b.json"), "crash-1")
	if v := bob.nextView(t); v.Version != 3 || v.CardParamMap["v"] != "2" || v.CardParamMap["p"] != "2" {
		t.Fatalf("bob after kill -9: %+v", v)
	}
	carl := connectCardViewer(t, srv.URL, inst, "carl", "dev-c", filepath.Join(t.TempDir(), "c.json"))
	if _, d := carl.nextDelivery(t); d.OutTrackId != "crash-1" {
		t.Fatalf("carl's delivery after kill -9: %+v", d)
	}
}
