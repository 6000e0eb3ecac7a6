package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// What a bizType config's changes do to entries already stored: taking it
// offline stops their delivery until it is online again; deleting it
// stops their delivery and deletes them after a grace period, unless it
// is created again within it; its target, scope and persistence never
// change.

// quietFor checks that c receives nothing for d.
func (c *appClient) quietFor(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-c.msgs:
		t.Fatalf("unexpected %s %q (oplog %d)", m.BizType, m.ThirdMsgID, m.OplogID)
	case <-time.After(d):
	}
}

// configURL is the admin URL of a bizType config, with a verb after it.
func configURL(base, inst, biz string, verb ...string) string {
	return base + "/api/v1/instances/" + inst + "/biztypes/" + biz + strings.Join(append([]string{""}, verb...), "/")
}

// Offline is the source's emergency stop: stored entries are neither
// redelivered to a connected client nor sent in a new client's backlog
// while the config is offline; once online they flow again from each
// client's sync point, nothing skipped.
func TestOfflineStopsDeliveryUntilOnline(t *testing.T) {
	const retry = 500 * time.Millisecond
	srv := startServer(t, t.TempDir(), "--retry-interval", retry.String())
	const inst = "ws_OFFLINE"
	putBizType(t, srv.URL, inst, "STOP", map[string]any{"target": "user", "multiDevice": true})
	putBizType(t, srv.URL, inst, "GO", map[string]any{"target": "user", "multiDevice": true})
	both := []string{"STOP", "GO"}

	// a holds s1 unacknowledged: the stream would redeliver it every
	// retry interval.
	a := connectClient(t, srv.URL, inst, clientSpec{user: "ivy", device: "phone", biz: both})
	pushOK(t, srv.URL, inst, "STOP", "ivy", "s1")
	a.expect(t, "s1")
	adminCall(t, http.MethodPost, configURL(srv.URL, inst, "STOP", "offline"), nil)
	if st, ans := push(t, srv.URL, inst, map[string]any{"bizType": "STOP", "linkToken": "ivy", "thirdMsgId": "s2", "payload": "x"}); st != 200 || ans.Msg != "BIZ_NOT_ONLINE" {
		t.Fatalf("push while offline: HTTP %d %+v", st, ans)
	}
	// No redelivery while offline (four retry intervals).
	a.quietFor(t, 4*retry)

	// A new device's backlog leaves STOP out: the GO entry pushed after it
	// connected comes first (a stream sends its backlog before live entries).
	b := connectClient(t, srv.URL, inst, clientSpec{user: "ivy", device: "tablet", biz: both, report: true})
	pushOK(t, srv.URL, inst, "GO", "ivy", "g1")
	b.expect(t, "g1")
	a.expect(t, "g1")
	if rec := records(t, srv.URL, inst, "users", "ivy"); len(rec.Entries) != 2 {
		t.Fatalf("records while offline: %+v, want s1 and g1 kept", rec)
	}

	// Online: each client resumes from its sync point.
	adminCall(t, http.MethodPost, configURL(srv.URL, inst, "STOP", "online"), nil)
	a.expect(t, "s1")
	b.expect(t, "s1")
	pushOK(t, srv.URL, inst, "STOP", "ivy", "s3")
	a.expect(t, "s3")
	b.expect(t, "s3")
}

// A deleted bizType's entries are kept, not delivered, during the grace
// period; creating it again within it (with the same target, scope and
// persistence) delivers them again.
func TestDeletedBizTypeIsWithheldUntilCreatedAgainWithinGrace(t *testing.T) {
	srv := startServer(t, t.TempDir()) // the default grace: 24 h
	const inst = "ws_DELGRACE"
	cfg := map[string]any{"target": "user", "multiDevice": true}
	putBizType(t, srv.URL, inst, "DEL", cfg)
	putBizType(t, srv.URL, inst, "BAR", cfg)
	pushOK(t, srv.URL, inst, "DEL", "joe", "d1")
	pushOK(t, srv.URL, inst, "DEL", "joe", "d2")
	adminCall(t, http.MethodDelete, configURL(srv.URL, inst, "DEL"), nil)
	if st, ans := push(t, srv.URL, inst, map[string]any{"bizType": "DEL", "linkToken": "joe", "thirdMsgId": "d9", "payload": "x"}); st != 200 || ans.Msg != "BIZ_NOT_ONLINE" {
		t.Fatalf("push after the delete: HTTP %d %+v", st, ans)
	}

	c := connectClient(t, srv.URL, inst, clientSpec{user: "joe", device: "d", biz: []string{"DEL", "BAR"}, report: true})
	pushOK(t, srv.URL, inst, "BAR", "joe", "b1")
	c.expect(t, "b1") // and not d1, d2 before it
	if rec := records(t, srv.URL, inst, "users", "joe"); len(rec.Entries) != 3 {
		t.Fatalf("records within the grace period: %+v, want d1, d2 and b1 kept", rec)
	}

	putBizType(t, srv.URL, inst, "DEL", cfg)
	c.expect(t, "d1", "d2")
	pushOK(t, srv.URL, inst, "DEL", "joe", "d3")
	c.expect(t, "d3")
}

// After the grace period a deletion is final: a node deletes the
// bizType's entries, also when it restarted meanwhile (the purge time is
// in the instance's journal), and a bizType created again later starts
// without them.
func TestDeletedBizTypeIsPurgedAfterGraceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	flags := []string{"--delete-grace", "1s", "--sweep-interval", "200ms"}
	srv := startServer(t, dir, flags...)
	const inst = "ws_DELPURGE"
	cfg := map[string]any{"target": "user", "multiDevice": true}
	putBizType(t, srv.URL, inst, "GONE", cfg)
	putBizType(t, srv.URL, inst, "STAY", cfg)
	pushOK(t, srv.URL, inst, "GONE", "kay", "g1")
	pushOK(t, srv.URL, inst, "STAY", "kay", "k1")
	pushOK(t, srv.URL, inst, "GONE", "kay", "g2")
	adminCall(t, http.MethodDelete, configURL(srv.URL, inst, "GONE"), nil)
	srv.kill9()

	srv = startServer(t, dir, flags...)
	waitFor(t, "the deleted bizType's entries to be deleted", 15*time.Second, func() bool {
		rec := records(t, srv.URL, inst, "users", "kay")
		return len(rec.Entries) == 1 && rec.Entries[0].ThirdMsgID == "k1"
	})
	putBizType(t, srv.URL, inst, "GONE", cfg)
	c := connectClient(t, srv.URL, inst, clientSpec{user: "kay", device: "d", biz: []string{"GONE", "STAY"}, report: true})
	c.expect(t, "k1")
	pushOK(t, srv.URL, inst, "GONE", "kay", "g3")
	c.expect(t, "g3")
}

// A bizType created again after its grace period, before any sweep
// deleted its old entries, does not deliver them: the connecting client
// tells its streams which deletions are final.
func TestFinalDeletionIsNotDeliveredBeforeTheSweep(t *testing.T) {
	const grace = 500 * time.Millisecond
	srv := startServer(t, t.TempDir(), "--delete-grace", grace.String(), "--sweep-interval", "-1s")
	const inst = "ws_DELFINAL"
	cfg := map[string]any{"target": "device"}
	putBizType(t, srv.URL, inst, "OLD", cfg)
	pushOK(t, srv.URL, inst, "OLD", "dev-1", "o1")
	adminCall(t, http.MethodDelete, configURL(srv.URL, inst, "OLD"), nil)
	time.Sleep(grace + 200*time.Millisecond) // the grace period is a time, not an event
	putBizType(t, srv.URL, inst, "OLD", cfg)

	c := connectClient(t, srv.URL, inst, clientSpec{user: "lee", device: "dev-1", biz: []string{"OLD"}, report: true})
	pushOK(t, srv.URL, inst, "OLD", "dev-1", "o2")
	c.expect(t, "o2")
	if rec := records(t, srv.URL, inst, "devices", "dev-1"); len(rec.Entries) != 1 || rec.Entries[0].ThirdMsgID != "o2" {
		t.Fatalf("records: %+v, want o1 deleted", rec)
	}
}

// A bizType's target, scope and persistence never change, not even
// through a delete and a re-creation: clients hold sync points of its
// entries, and entries stored under the new setting would never reach
// them. Every other field changes, and every push still arrives.
func TestBizTypeTargetScopeAndPersistenceAreFixed(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_SHAPE"
	putBizType(t, srv.URL, inst, "SHAPE", map[string]any{"target": "user"})
	c := connectClient(t, srv.URL, inst, clientSpec{user: "max", device: "dev1", biz: []string{"SHAPE"}, report: true})
	pushOK(t, srv.URL, inst, "SHAPE", "max", "s1")
	c.expect(t, "s1")

	refused := func(when string, body map[string]any) {
		t.Helper()
		var ans struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		st := call(t, http.MethodPut, configURL(srv.URL, inst, "SHAPE"), body, &ans)
		if st != http.StatusConflict || ans.Error.Code != "CONFLICT" || !strings.Contains(ans.Error.Message, "new bizType") {
			t.Fatalf("%s: HTTP %d %+v, want 409 CONFLICT naming the way out", when, st, ans)
		}
	}
	for field, body := range map[string]map[string]any{
		"target":     {"target": "device"},
		"scope":      {"target": "user", "scope": "global"},
		"persistent": {"target": "user", "persistent": false},
	} {
		refused("a change of "+field, body)
	}
	adminCall(t, http.MethodPut, configURL(srv.URL, inst, "SHAPE"), map[string]any{"target": "user", "description": "renamed", "maxRetries": 3})
	pushOK(t, srv.URL, inst, "SHAPE", "max", "s2")
	c.expect(t, "s2")

	adminCall(t, http.MethodDelete, configURL(srv.URL, inst, "SHAPE"), nil)
	refused("a re-creation with another target", map[string]any{"target": "device"})
	putBizType(t, srv.URL, inst, "SHAPE", map[string]any{"target": "user"})
	pushOK(t, srv.URL, inst, "SHAPE", "max", "s3")
	c.expect(t, "s3")
}
