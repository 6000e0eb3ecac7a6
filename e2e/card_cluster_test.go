package e2e

import (
	"path/filepath"
	"testing"
)

// In a 3-node set, a card's viewers on every node get their own view of
// each update, whichever node the update is sent to, and a delivery made
// through one node reaches a recipient connected to another.
func TestCardViewersOnEveryNodeOfASet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	set := newNodeSet(t, 3, loopbackLayout(t, 3))
	const inst = "ws_CARDSET"
	urls := []string{set.url(0), set.url(1), set.url(2)}
	ensureInstance(t, urls[0], inst)
	key := apiKey(t, urls[0], inst)
	for _, u := range urls[1:] {
		apiKeys.Store(u+"|"+inst, key)
	}
	createCard(t, urls[0], inst, "set-1", map[string]any{"userId": "alice", "cardData": params("n", "0"),
		"privateData": map[string]any{"bob": params("mine", "b0")}})
	dir := t.TempDir()
	alice1 := connectCardViewer(t, urls[1], inst, "alice", "a1", filepath.Join(dir, "a1"), "set-1")
	alice2 := connectCardViewer(t, urls[2], inst, "alice", "a2", filepath.Join(dir, "a2"), "set-1")
	bob := connectCardViewer(t, urls[0], inst, "bob", "b0", filepath.Join(dir, "b0"), "set-1")
	carl := connectCardViewer(t, urls[2], inst, "carl", "c2", filepath.Join(dir, "c2"))
	for _, v := range []*cardViewer{alice1, alice2, bob} {
		if cv := v.nextView(t); cv.Version != 1 {
			t.Fatalf("%s: first view %+v", v.SyncDeviceID(), cv)
		}
	}
	updateCard(t, urls[2], inst, map[string]any{"outTrackId": "set-1", "cardData": params("n", "1")})
	updateCard(t, urls[1], inst, map[string]any{"outTrackId": "set-1", "privateData": map[string]any{"bob": params("mine", "b1")}})
	updateCard(t, urls[0], inst, map[string]any{"outTrackId": "set-1", "cardData": params("n", "3")})
	for _, v := range []*cardViewer{alice1, alice2} {
		for _, want := range []struct {
			version uint64
			n       string
		}{{2, "1"}, {4, "3"}} {
			if cv := v.nextView(t); cv.Version != want.version || cv.CardParamMap["n"] != want.n || cv.CardParamMap["mine"] != "" {
				t.Fatalf("%s got %+v, want version %d n=%s and no private data", v.SyncDeviceID(), cv, want.version, want.n)
			}
		}
	}
	for _, want := range []struct {
		version uint64
		n, mine string
	}{{2, "1", "b0"}, {3, "1", "b1"}, {4, "3", "b1"}} {
		if cv := bob.nextView(t); cv.Version != want.version || cv.CardParamMap["n"] != want.n || cv.CardParamMap["mine"] != want.mine {
			t.Fatalf("bob got %+v, want %+v", cv, want)
		}
	}
	if rs := deliver(t, urls[1], inst, "set-1", "dtv1.card//im_robot.carl", nil); !rs[0].Success {
		t.Fatalf("deliver: %+v", rs)
	}
	if _, d := carl.nextDelivery(t); d.OutTrackId != "set-1" {
		t.Fatalf("carl got %+v", d)
	}
}
