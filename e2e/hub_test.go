package e2e

import (
	"fmt"
	"net/http"
	"testing"
)

// A global push to every client of a node is encoded once on that node:
// the node's fan-out hub hands the same frame to each connection. Queued
// deliveries of one connection leave in fewer writes than messages.
func TestHubEncodesOneFramePerPushPerNode(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst, biz, clients, pushes = "ws_HUB", "BANNER", 20, 5
	putBizType(t, srv.URL, inst, biz, map[string]any{"scope": "global", "pushToOnline": true})
	global := func(id string) {
		t.Helper()
		var a pushAnswer
		if st := call(t, http.MethodPost, srv.URL+"/webapi/sync/global?instanceId="+inst, map[string]any{"bizType": biz, "thirdMsgId": id, "payload": id}, &a); st != 200 || a.Msg != "SUCCESS" {
			t.Fatalf("global push %s: %d %+v", id, st, a)
		}
	}
	var cs []*appClient
	for i := range clients {
		cs = append(cs, connectClient(t, srv.URL, inst, clientSpec{user: fmt.Sprintf("u%d", i), device: fmt.Sprintf("d%d", i), biz: []string{biz}, report: true}))
	}
	// Once every client has the first entry, every one is attached to the
	// global stream: what follows goes to all of them live.
	global("warm")
	for _, c := range cs {
		c.expect(t, "warm")
	}
	framesBefore := metricValue(t, srv.URL, "opsync_hub_frames_encoded_total")
	recipientsBefore := metricValue(t, srv.URL, "opsync_hub_recipients_total")
	var ids []string
	for i := range pushes {
		id := fmt.Sprintf("g%d", i)
		ids = append(ids, id)
		global(id)
	}
	for _, c := range cs {
		c.expect(t, ids...)
	}
	if frames := metricValue(t, srv.URL, "opsync_hub_frames_encoded_total") - framesBefore; frames != pushes {
		t.Errorf("%d global pushes to %d clients encoded %v frames, want one per push", pushes, clients, frames)
	}
	if got := metricValue(t, srv.URL, "opsync_hub_recipients_total") - recipientsBefore; got != pushes*clients {
		t.Errorf("hub recipients grew by %v, want %d", got, pushes*clients)
	}
}

// A backlog of many entries reaches a connecting client in far fewer
// WebSocket writes than messages (frames of up to 256 messages; frames
// queued together leave as one write, which internal/edge's
// TestClientConnCoalescesQueuedDeliverFrames pins).
func TestQueuedDeliveriesLeaveInFewWrites(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst, biz, backlog = "ws_COALESCE", "CHAT", 500 // within the window (512)
	putBizType(t, srv.URL, inst, biz, map[string]any{})
	var ids []string
	for i := range backlog {
		id := fmt.Sprintf("m%04d", i)
		ids = append(ids, id)
		pushOK(t, srv.URL, inst, biz, "ann", id)
	}
	writesBefore := metricValue(t, srv.URL, "opsync_conn_writes_total")
	c := connectClient(t, srv.URL, inst, clientSpec{user: "ann", device: "a1", biz: []string{biz}, report: true})
	c.expect(t, ids...)
	writes := metricValue(t, srv.URL, "opsync_conn_writes_total") - writesBefore
	// The Connected frame, then at most one write per 256-message frame.
	if writes < 2 || writes > 1+(backlog+255)/256 {
		t.Errorf("%d messages took %v writes", backlog, writes)
	}
}
