package e2e

import (
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Users A and B view one card: a public update reaches both, B's private
// data reaches B only, merge-by-key and replace each do what they say,
// and a user who is not a recipient (or a card that does not exist) gets
// the version 0 answer and nothing after it.
func TestCardViewPublicAndPrivate(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_CARDVIEW"
	base := srv.URL
	createCard(t, base, inst, "view-1", map[string]any{"userId": "alice",
		"cardData":    params("title", "poll", "votes", "0"),
		"privateData": map[string]any{"bob": params("votes", "bob sees 0", "note", "b")}})

	dir := t.TempDir()
	alice := connectCardViewer(t, base, inst, "alice", "dev-a", filepath.Join(dir, "a.json"), "view-1")
	bob := connectCardViewer(t, base, inst, "bob", "dev-b", filepath.Join(dir, "b.json"), "view-1")
	eve := connectCardViewer(t, base, inst, "eve", "dev-e", filepath.Join(dir, "e.json"), "view-1", "no-such-card")

	want := func(who string, v *opsyncpb.CardView, version uint64, kv map[string]string, private ...string) {
		t.Helper()
		if v.OutTrackId != "view-1" || v.Version != version || !maps.Equal(v.CardParamMap, kv) || len(v.PrivateKeys) != len(private) {
			t.Fatalf("%s got %+v, want version %d %v private %v", who, v, version, kv, private)
		}
		for i, k := range private {
			if v.PrivateKeys[i] != k {
				t.Fatalf("%s's private keys %v, want %v", who, v.PrivateKeys, private)
			}
		}
	}
	m := func(kv ...string) map[string]string {
		out := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	want("alice", alice.nextView(t), 1, m("title", "poll", "votes", "0"))
	want("bob", bob.nextView(t), 1, m("title", "poll", "votes", "bob sees 0", "note", "b"), "note", "votes")
	for range 2 { // the same answer for a non-recipient and an unknown card
		v := eve.nextView(t)
		if v.Version != 0 || len(v.CardParamMap) != 0 || (v.OutTrackId != "view-1" && v.OutTrackId != "no-such-card") {
			t.Fatalf("eve got %+v, want a version 0 view with no data", v)
		}
	}

	// A public merge by key reaches both.
	updateCard(t, base, inst, map[string]any{"outTrackId": "view-1", "cardData": params("votes", "1"),
		"cardUpdateOptions": map[string]any{"updateCardDataByKey": true}})
	want("alice", alice.nextView(t), 2, m("title", "poll", "votes", "1"))
	want("bob", bob.nextView(t), 2, m("title", "poll", "votes", "bob sees 0", "note", "b"), "note", "votes")

	// B's private merge reaches B only: A's next view is the update after it.
	updateCard(t, base, inst, map[string]any{"outTrackId": "view-1", "privateData": map[string]any{"bob": params("note", "b2")},
		"cardUpdateOptions": map[string]any{"updatePrivateDataByKey": true}})
	want("bob", bob.nextView(t), 3, m("title", "poll", "votes", "bob sees 0", "note", "b2"), "note", "votes")
	// B's private replace drops B's other private keys.
	updateCard(t, base, inst, map[string]any{"outTrackId": "view-1", "privateData": map[string]any{"bob": params("note", "b3")}})
	want("bob", bob.nextView(t), 4, m("title", "poll", "votes", "1", "note", "b3"), "note")
	// A public replace (the default) drops the keys not sent.
	updateCard(t, base, inst, map[string]any{"outTrackId": "view-1", "cardData": params("votes", "2")})
	want("alice", alice.nextView(t), 5, m("votes", "2"))
	want("bob", bob.nextView(t), 5, m("votes", "2", "note", "b3"), "note")

	// The non-recipient saw nothing of all that.
	eve.quiet(t, 200*time.Millisecond)
	if c := getCard(t, base, inst, "view-1"); c.Version != 5 || len(c.PrivateData["bob"].CardParamMap) != 1 {
		t.Fatalf("GET after the updates: %+v", c)
	}
}
