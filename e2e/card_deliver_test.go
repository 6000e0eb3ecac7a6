package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// deliver delivers a card to openSpaceID (with body's models) and answers
// the per-space results.
func deliver(t *testing.T, base, inst, outTrackID, openSpaceID string, body map[string]any) []deliverResult {
	t.Helper()
	b := map[string]any{"outTrackId": outTrackID, "openSpaceId": openSpaceID}
	for k, v := range body {
		b[k] = v
	}
	st, a := cardAPI(t, base, inst, http.MethodPost, "/v1.0/card/instances/deliver", b)
	var rs []deliverResult
	cardOK(t, st, a, &rs)
	return rs
}

// Deliveries ride the user's stream under OPSYNC_CARD: per-space results;
// a recipient online gets the card at once; one offline gets it at its
// next connect, once, from its sync point; a delivered user may open the
// card.
func TestCardDeliveriesThroughUserStreams(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_CARDDELIVER"
	base := srv.URL
	for _, id := range []string{"d-1", "d-2", "d-3"} {
		createCard(t, base, inst, id, map[string]any{"userId": "owner", "cardData": params("title", id)})
	}
	state := filepath.Join(t.TempDir(), "carl.json")
	carl := connectCardViewer(t, base, inst, "carl", "dev-c", state)

	rs := deliver(t, base, inst, "d-1", "dtv1.card//im_single.carl;im_group.g1;doc.doc9", map[string]any{
		"imGroupOpenDeliverModel": map[string]any{"recipients": []string{"carl", "dora"}}})
	if len(rs) != 3 || !rs[0].Success || !rs[1].Success || rs[1].SpaceType != "IM_GROUP" || rs[1].SpaceID != "g1" ||
		rs[2].Success || rs[2].ErrorMsg == "" {
		t.Fatalf("deliver answered %+v", rs)
	}
	// carl is in two spaces: one delivery per space.
	seen := map[string]bool{}
	for range 2 {
		m, d := carl.nextDelivery(t)
		if m.BizType != "OPSYNC_CARD" || d.OutTrackId != "d-1" || d.CardTemplateId != "tpl.poll" || d.DeliveredAt == 0 {
			t.Fatalf("carl got %+v %+v", m, d)
		}
		seen[d.SpaceType+"."+d.SpaceId] = true
	}
	if !seen["IM_SINGLE.carl"] || !seen["IM_GROUP.g1"] {
		t.Fatalf("carl's deliveries: %v", seen)
	}
	carl.Close()

	// Offline: d-2 is delivered while carl is away, d-1 again to the same
	// space (which stores nothing new).
	if rs := deliver(t, base, inst, "d-2", "dtv1.card//im_robot.carl", nil); !rs[0].Success {
		t.Fatalf("deliver d-2: %+v", rs)
	}
	if rs := deliver(t, base, inst, "d-1", "dtv1.card//im_single.carl", nil); !rs[0].Success {
		t.Fatalf("deliver d-1 again: %+v", rs)
	}
	carl = connectCardViewer(t, base, inst, "carl", "dev-c", state, "d-2")
	if _, d := carl.nextDelivery(t); d.OutTrackId != "d-2" {
		t.Fatalf("at reconnect carl got %+v, want d-2 (d-1 was acknowledged before)", d)
	}
	// The delivered user sees the card.
	if v := carl.nextView(t); v.OutTrackId != "d-2" || v.Version != 1 || v.CardParamMap["title"] != "d-2" {
		t.Fatalf("carl's view of d-2: %+v", v)
	}
	// Once: the next delivery carl gets is the next one made.
	deliver(t, base, inst, "d-3", "dtv1.card//im_robot.carl", nil)
	if _, d := carl.nextDelivery(t); d.OutTrackId != "d-3" {
		t.Fatalf("carl got %+v, want d-3", d)
	}
	// dora (a group recipient) is a recipient of d-1 now.
	if c := getCard(t, base, inst, "d-1"); len(c.Delivered) != 2 || c.Delivered[0] != "carl" || c.Delivered[1] != "dora" {
		t.Fatalf("d-1's delivered users: %v", c.Delivered)
	}
	// The reserved bizType cannot be put by an administrator.
	var res map[string]any
	if st := call(t, http.MethodPut, base+"/api/v1/instances/"+inst+"/biztypes/OPSYNC_CARD", map[string]any{"retentionDays": 1}, &res); st != http.StatusBadRequest ||
		!strings.Contains(fmt.Sprint(res), "reserved") {
		t.Fatalf("config put of OPSYNC_CARD: HTTP %d %v", st, res)
	}
}
