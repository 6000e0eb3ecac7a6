package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A user with three devices in multi-device mode: each device receives
// every entry once, in order.
func TestMultiDeviceEachDeviceGetsEveryEntryOnce(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_MULTI"
	putBizType(t, srv.URL, inst, "NOTES", map[string]any{"target": "user", "multiDevice": true})
	var devs []*appClient
	for _, d := range []string{"phone", "tablet", "laptop"} {
		devs = append(devs, connectClient(t, srv.URL, inst, clientSpec{user: "ann", device: d, biz: []string{"NOTES"}, report: true}))
	}
	var ids []string
	for i := 0; i < 20; i++ {
		ids = append(ids, fmt.Sprint("n", i))
		pushOK(t, srv.URL, inst, "NOTES", "ann", ids[i])
	}
	pushOK(t, srv.URL, inst, "NOTES", "ann", "sentinel")
	for _, d := range devs {
		d.expect(t, append(ids, "sentinel")...) // no duplicate can come before the sentinel
	}
}

// Single-device mode: each entry goes to exactly one device, the user's
// most recently online one, and never again to another device or after a
// reinstall.
func TestSingleDeviceEntryGoesToOneDeviceOnce(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_SINGLE"
	putBizType(t, srv.URL, inst, "PAY-RESULT", map[string]any{"target": "user"}) // multiDevice off
	putBizType(t, srv.URL, inst, "MARK", map[string]any{"target": "user", "multiDevice": true})
	both := []string{"PAY-RESULT", "MARK"}
	a := connectClient(t, srv.URL, inst, clientSpec{user: "bo", device: "old-phone", biz: both, report: true})
	b := connectClient(t, srv.URL, inst, clientSpec{user: "bo", device: "new-phone", biz: both, report: true})

	for i := 0; i < 5; i++ {
		pushOK(t, srv.URL, inst, "PAY-RESULT", "bo", fmt.Sprint("pay", i))
	}
	pushOK(t, srv.URL, inst, "MARK", "bo", "mark1")
	b.expect(t, "pay0", "pay1", "pay2", "pay3", "pay4", "mark1")
	a.expect(t, "mark1") // the older device got none of the payments

	// With the newer device gone, the older one is the most recently online.
	b.Close()
	pushOK(t, srv.URL, inst, "PAY-RESULT", "bo", "pay5")
	a.expect(t, "pay5")

	// A reinstall (no sync points) gets no payment again, only the
	// multi-device entries.
	c := connectClient(t, srv.URL, inst, clientSpec{user: "bo", device: "reinstalled", biz: both, report: true})
	pushOK(t, srv.URL, inst, "MARK", "bo", "mark2")
	c.expect(t, "mark1", "mark2")
}

// An unacknowledging client sees an entry exactly 7 times (1 + 6 retries),
// then it is deleted for good and counted as dropped.
func TestUnacknowledgedEntryIsRetriedSixTimesThenDropped(t *testing.T) {
	srv := startServer(t, t.TempDir(), "--retry-interval", "100ms")
	const inst = "ws_RETRY"
	putBizType(t, srv.URL, inst, "ALERT", map[string]any{"target": "user", "multiDevice": true})
	dropsBefore := metricValue(t, srv.URL, "opsync_drops_total")
	c := connectClient(t, srv.URL, inst, clientSpec{user: "cy", device: "d1", biz: []string{"ALERT"}, report: false})
	pushOK(t, srv.URL, inst, "ALERT", "cy", "r1")
	for i := 0; i < 7; i++ {
		if m := c.next(t); m.ThirdMsgID != "r1" {
			t.Fatalf("delivery %d is %q", i+1, m.ThirdMsgID)
		}
	}
	waitFor(t, "the entry to be dropped", 30*time.Second, func() bool {
		return metricValue(t, srv.URL, "opsync_drops_total")-dropsBefore == 1
	})
	pushOK(t, srv.URL, inst, "ALERT", "cy", "after")
	c.expect(t, "after") // never r1 again
	rec := records(t, srv.URL, inst, "users", "cy")
	if rec.Dropped != 1 || len(rec.Entries) != 1 || rec.Entries[0].ThirdMsgID != "after" {
		t.Fatalf("records after the drop: %+v", rec)
	}
	// Deleted for good: another device gets only the later entry.
	d := connectClient(t, srv.URL, inst, clientSpec{user: "cy", device: "d2", biz: []string{"ALERT"}, report: true})
	d.expect(t, "after")
}

// Threshold re-push mode keeps only the newest N of a backlog.
func TestThresholdKeepsNewestN(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_THRESH"
	putBizType(t, srv.URL, inst, "PRICE", map[string]any{"target": "user", "repushMode": "threshold", "threshold": 5})
	for i := 0; i < 20; i++ {
		pushOK(t, srv.URL, inst, "PRICE", "di", fmt.Sprint("t", i))
	}
	waitFor(t, "the backlog to be trimmed to 5", 30*time.Second, func() bool { return len(records(t, srv.URL, inst, "users", "di").Entries) == 5 })
	c := connectClient(t, srv.URL, inst, clientSpec{user: "di", device: "d", biz: []string{"PRICE"}, report: true})
	c.expect(t, "t15", "t16", "t17", "t18", "t19")

	// The trimmed entries are gone from the journal too: removal events, and
	// the entries' records range-deleted.
	c.Close()
	srv.kill()
	out, errOut, code := run(t, "journal", "--data", srv.DataDir, "dump", "stream:"+inst+"/u/di")
	if code != 0 {
		t.Fatalf("journal dump: %d %s", code, errOut)
	}
	appended, removed := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case strings.Contains(line, `"entryAppended"`):
			appended++
		case strings.Contains(line, `"entriesRemoved"`):
			removed++
		}
	}
	if appended != 5 || removed == 0 {
		t.Fatalf("journal holds %d entries and %d removal events, want 5 and at least 1:\n%s", appended, removed, out)
	}
}

// validTimeEnd: an expired entry is never delivered and is deleted.
func TestExpiredEntriesAreNotDeliveredAndDeleted(t *testing.T) {
	srv := startServer(t, t.TempDir(), "--retry-interval", "400ms") // ticks every 200ms
	const inst = "ws_EXPIRY"
	putBizType(t, srv.URL, inst, "COUPON", map[string]any{"target": "user"})
	now := time.Now().UnixMilli()
	pushOK(t, srv.URL, inst, "COUPON", "ed", "past", "validTimeEnd", now-1000)
	pushOK(t, srv.URL, inst, "COUPON", "ed", "soon", "validTimeEnd", now+300)
	pushOK(t, srv.URL, inst, "COUPON", "ed", "later", "validTimeEnd", now+time.Hour.Milliseconds())
	waitFor(t, "expired entries to be deleted", 30*time.Second, func() bool {
		rec := records(t, srv.URL, inst, "users", "ed")
		return len(rec.Entries) == 1 && rec.Entries[0].ThirdMsgID == "later"
	})
	c := connectClient(t, srv.URL, inst, clientSpec{user: "ed", device: "d", biz: []string{"COUPON"}, report: true})
	c.expect(t, "later")
}

// A non-persistent bizType delivers only to online clients; NOT_ONLINE
// otherwise; nothing is kept.
func TestNonPersistentDeliversOnlyToOnlineClients(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_TRANSIENT"
	putBizType(t, srv.URL, inst, "TYPING", map[string]any{"target": "user", "persistent": false})
	putBizType(t, srv.URL, inst, "CHAT", map[string]any{"target": "user", "multiDevice": true})
	st, a := push(t, srv.URL, inst, map[string]any{"bizType": "TYPING", "linkToken": "fay", "thirdMsgId": "t0", "payload": "x"})
	if st != 200 || a.Msg != "NOT_ONLINE" || !a.Success {
		t.Fatalf("offline transient push: %d %+v, want NOT_ONLINE (success true)", st, a)
	}
	state := t.TempDir() + "/s.json"
	c := connectClient(t, srv.URL, inst, clientSpec{user: "fay", device: "d", biz: []string{"TYPING", "CHAT"}, report: true, state: state})
	// Connected comes once the stream lists the client: a transient push
	// right after it reaches the client.
	pushOK(t, srv.URL, inst, "TYPING", "fay", "t1")
	c.expect(t, "t1")
	c.Close()
	// Nothing was kept: a reconnect gets only the persistent entry.
	pushOK(t, srv.URL, inst, "CHAT", "fay", "c1")
	c2 := connectClient(t, srv.URL, inst, clientSpec{user: "fay", device: "d2", biz: []string{"TYPING", "CHAT"}, report: true})
	c2.expect(t, "c1")
	// The records count the non-persistent pushes (t0 and t1) but list
	// only the stored entry.
	if rec := records(t, srv.URL, inst, "users", "fay"); rec.Pushes != 3 || len(rec.Entries) != 1 {
		t.Fatalf("records: %+v, want 3 pushes and 1 entry (the transient ones are not kept)", rec)
	}
}

// Global push: stored once, delivered to every user from their own sync
// point at their next connect; with pushToOnline, to connected clients at
// once.
func TestGlobalPush(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_GLOBAL"
	putBizType(t, srv.URL, inst, "SDK-CONFIG", map[string]any{"scope": "global"})
	putBizType(t, srv.URL, inst, "BANNER", map[string]any{"scope": "global", "pushToOnline": true})
	putBizType(t, srv.URL, inst, "CHAT", map[string]any{})
	global := func(biz, id string) {
		t.Helper()
		var a pushAnswer
		st := call(t, http.MethodPost, srv.URL+"/webapi/sync/global?instanceId="+inst, map[string]any{"bizType": biz, "thirdMsgId": id, "payload": id}, &a)
		if st != 200 || a.Msg != "SUCCESS" {
			t.Fatalf("global push %s: %d %+v", id, st, a)
		}
	}
	global("SDK-CONFIG", "g1")
	global("SDK-CONFIG", "g2")
	var a pushAnswer
	if st := call(t, http.MethodPost, srv.URL+"/webapi/sync/global?instanceId="+inst, map[string]any{"bizType": "CHAT", "thirdMsgId": "x", "payload": "x"}, &a); st != 200 || a.Msg != "NOT_SUPPORT_GLOBAL" {
		t.Fatalf("global push of a specified bizType: %d %+v", st, a)
	}
	if st := call(t, http.MethodPost, srv.URL+"/webapi/sync/global?instanceId="+inst, map[string]any{"bizType": "SDK-CONFIG", "linkToken": "u", "thirdMsgId": "y", "payload": "y"}, &a); st != 200 || a.Msg != "ARGS_INVALID" {
		t.Fatalf("global push with a linkToken: %d %+v", st, a)
	}

	state := t.TempDir() + "/s.json"
	u1 := connectClient(t, srv.URL, inst, clientSpec{user: "gil", device: "g-d1", biz: []string{"SDK-CONFIG", "BANNER"}, report: true, state: state})
	u2 := connectClient(t, srv.URL, inst, clientSpec{user: "hal", device: "h-d1", biz: []string{"SDK-CONFIG"}, report: true})
	u1.expect(t, "g1", "g2")
	u2.expect(t, "g1", "g2")

	// pushToOnline: a connected client gets it at once.
	global("BANNER", "b1")
	u1.expect(t, "b1")

	// Default: the next connect brings it, from the client's sync point,
	// not the connection open now. The pushToOnline sentinel pushed after
	// it is the next message the open connection sees: a g3 delivered at
	// once would have been sent before the sentinel was even pushed.
	global("SDK-CONFIG", "g3")
	global("BANNER", "b2")
	u1.expect(t, "b2")
	u1.Close()
	again := connectClient(t, srv.URL, inst, clientSpec{user: "gil", device: "g-d1", biz: []string{"SDK-CONFIG", "BANNER"}, report: true, state: state})
	again.expect(t, "g3")
}

// osType and app version filters are checked against what the client
// reported at connect.
func TestOSTypeAndVersionFilters(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_FILTER"
	putBizType(t, srv.URL, inst, "PROMO", map[string]any{"target": "device"})
	c := connectClient(t, srv.URL, inst, clientSpec{user: "ivy", device: "ivy-phone", biz: []string{"PROMO"}, report: true, osType: "iOS", appVersion: "2.0.1"})
	pushOK(t, srv.URL, inst, "PROMO", "ivy-phone", "android-only", "osType", "Android")
	pushOK(t, srv.URL, inst, "PROMO", "ivy-phone", "too-old", "appMinVersion", "3.0")
	pushOK(t, srv.URL, inst, "PROMO", "ivy-phone", "too-new", "appMaxVersion", "2.0.0")
	pushOK(t, srv.URL, inst, "PROMO", "ivy-phone", "match", "osType", "ios", "appMinVersion", "2.0", "appMaxVersion", "2.0.1")
	c.expect(t, "match")
}

// The console's per user / device records: connected or not, pushes and
// arrivals in the window, the push list.
func TestUserRecords(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_REC"
	putBizType(t, srv.URL, inst, "MAIL", map[string]any{"target": "user", "multiDevice": true})
	for i := 0; i < 3; i++ {
		pushOK(t, srv.URL, inst, "MAIL", "joy", fmt.Sprint("m", i))
	}
	if rec := records(t, srv.URL, inst, "users", "joy"); rec.Connected || rec.Pushes != 3 || rec.Arrivals != 0 || len(rec.Entries) != 3 || rec.Entries[0].ThirdMsgID != "m2" {
		t.Fatalf("records before any client: %+v", rec)
	}
	c := connectClient(t, srv.URL, inst, clientSpec{user: "joy", device: "joy-1", biz: []string{"MAIL"}, report: true})
	c.expect(t, "m0", "m1", "m2")
	waitFor(t, "arrivals to be recorded", 30*time.Second, func() bool {
		rec := records(t, srv.URL, inst, "users", "joy")
		return rec.Connected && rec.Arrivals == 3 && len(rec.ConnectedDevices) == 1 && rec.ConnectedDevices[0] == "joy-1"
	})
	out, errOut, code := run(t, "records", "--server", srv.URL, "--instance", inst, "--user", "joy", "--limit", "2")
	if code != 0 || !strings.Contains(out, `"pushes":3`) || strings.Count(out, `"thirdMsgId"`) != 2 {
		t.Fatalf("opsync records: exit %d %s %s", code, out, errOut)
	}
	var e map[string]any
	if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+inst+"/groups/joy/records", nil, &e); st != 404 {
		t.Fatalf("records of an unknown kind: %d", st)
	}
}

type recordsAnswer struct {
	Connected        bool     `json:"connected"`
	ConnectedDevices []string `json:"connectedDevices"`
	Pushes           uint64   `json:"pushes"`
	GlobalPushes     uint64   `json:"globalPushes"`
	Arrivals         uint64   `json:"arrivals"`
	Dropped          uint64   `json:"dropped"`
	Entries          []struct {
		OplogID    uint64 `json:"oplogId"`
		ThirdMsgID string `json:"thirdMsgId"`
	} `json:"entries"`
}

func records(t *testing.T, base, instance, kind, id string) recordsAnswer {
	t.Helper()
	var r recordsAnswer
	if st := call(t, http.MethodGet, base+"/api/v1/instances/"+instance+"/"+kind+"/"+url.PathEscape(id)+"/records", nil, &r); st != 200 {
		t.Fatalf("records of %s %s: %d", kind, id, st)
	}
	return r
}

// bizType configs are checked: identifier, and options that apply to some
// targets or scopes only.
func TestConfigValidation(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_CFG"
	putBizType(t, srv.URL, inst, "OK-1", map[string]any{})
	for name, tc := range map[string]struct {
		biz  string
		body map[string]any
	}{
		"identifier with a dot":          {"bad.biz", map[string]any{}},
		"identifier over 30 characters":  {strings.Repeat("A", 31), map[string]any{}},
		"multiDevice on a device target": {"DEV-1", map[string]any{"target": "device", "multiDevice": true}},
		"consistency on a device target": {"DEV-2", map[string]any{"target": "device", "consistencyCheck": true}},
		"threshold mode without N":       {"TH-1", map[string]any{"repushMode": "threshold"}},
		"N in queue mode":                {"TH-2", map[string]any{"threshold": 5}},
		"non-persistent global":          {"GL-1", map[string]any{"scope": "global", "persistent": false}},
		"pushToOnline not global":        {"GL-2", map[string]any{"pushToOnline": true}},
		"too many retries":               {"RT-1", map[string]any{"maxRetries": 7}},
		"unknown target":                 {"TG-1", map[string]any{"target": "group"}},
		"unknown field":                  {"UF-1", map[string]any{"colour": "blue"}},
	} {
		var e struct {
			Error struct{ Code, Message string }
		}
		st := call(t, http.MethodPut, srv.URL+"/api/v1/instances/"+inst+"/biztypes/"+url.PathEscape(tc.biz), tc.body, &e)
		if st != 400 || e.Error.Code != "INVALID" || e.Error.Message == "" {
			t.Errorf("%s: %d %+v, want 400 INVALID with a message", name, st, e)
		}
	}
	var list struct{ Configs []map[string]any }
	if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+inst+"/biztypes", nil, &list); st != 200 || len(list.Configs) != 1 {
		t.Fatalf("after refused configs: %d %v", st, list)
	}
}
