package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

type opRow struct {
	Time     int64             `json:"time"`
	Operator string            `json:"operator"`
	Action   string            `json:"action"`
	Target   string            `json:"target"`
	Details  map[string]string `json:"details"`
	Changes  map[string]struct {
		Old string `json:"old"`
		New string `json:"new"`
	} `json:"changes"`
}

type opList struct {
	Operations []opRow `json:"operations"`
	From, To   int64
	Truncated  bool `json:"truncated"`
	Error      struct{ Code string }
}

func queryOperations(t *testing.T, base, instance string, q url.Values) (int, opList) {
	t.Helper()
	var l opList
	st := call(t, http.MethodGet, base+"/api/v1/instances/"+instance+"/operations?"+q.Encode(), nil, &l)
	return st, l
}

func actionsOf(l opList) string {
	var a []string
	for _, o := range l.Operations {
		a = append(a, o.Action)
	}
	return strings.Join(a, " ")
}

// as sends an admin call as operator.
func as(t *testing.T, operator, method, u string, body any) int {
	t.Helper()
	var out map[string]any
	return callWith(t, method, u, body, &out, http.Header{"Authorization": {"Bearer " + adminToken}, "X-Opsync-Operator": {operator}})
}

// Every config change, admin push, signature switch and instance change
// is in the operation log with its operator, action, time and details (a
// modification with field -> {old, new}); the log is queried by
// operator, action and time range (default the last 7 days), newest
// first, at most 1000 rows, and survives a restart.
func TestOperationLog(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	const inst = "ws_OPLOG"
	base := srv.URL + "/api/v1/instances/" + inst
	start := time.Now().UnixMilli()
	createInstance(t, srv.URL, inst)
	if st := as(t, "alice", http.MethodPut, base+"/biztypes/PRICE", map[string]any{"target": "user", "description": "prices"}); st != 200 {
		t.Fatal(st)
	}
	if st := as(t, "bob", http.MethodPut, base+"/biztypes/PRICE", map[string]any{"target": "user", "description": "prices", "repushMode": "threshold", "threshold": 5}); st != 200 {
		t.Fatal(st)
	}
	as(t, "alice", http.MethodPost, base+"/biztypes/PRICE/offline", nil)
	as(t, "alice", http.MethodPost, base+"/biztypes/PRICE/online", nil)
	var pa pushAnswer
	if st := callWith(t, http.MethodPost, base+"/push", map[string]any{"bizType": "PRICE", "linkToken": "u1", "thirdMsgId": "m1", "payload": "9.99", "appMinVersion": "1.2", "validTimeEnd": 9999999999999},
		&pa, http.Header{"Authorization": {"Bearer " + adminToken}, "X-Opsync-Operator": {"bob"}}); st != 200 || pa.Msg != "SUCCESS" {
		t.Fatalf("admin push: %d %+v", st, pa)
	}
	time.Sleep(5 * time.Millisecond)
	mid := time.Now().UnixMilli()
	time.Sleep(5 * time.Millisecond)
	as(t, "carol", http.MethodPatch, base+"/settings", map[string]any{"signatureCheck": false})
	as(t, "carol", http.MethodPatch, base+"/settings", map[string]any{"signatureCheck": true})
	as(t, "carol", http.MethodPatch, base+"/settings", map[string]any{"signatureCheck": true}) // no change, no row
	as(t, "alice", http.MethodDelete, base+"/biztypes/PRICE", nil)
	end := time.Now().UnixMilli()

	st, all := queryOperations(t, srv.URL, inst, nil)
	want := "DELETE_CONFIG SIGNATURE_ON SIGNATURE_OFF CREATE_PUSH ONLINE_CONFIG OFFLINE_CONFIG MODIFY_CONFIG CREATE_CONFIG CREATE_INSTANCE"
	if st != 200 || actionsOf(all) != want || all.Truncated {
		t.Fatalf("operations: HTTP %d %q (truncated %v), want %q", st, actionsOf(all), all.Truncated, want)
	}
	for i, o := range all.Operations {
		if o.Time < start || o.Time > end || (i > 0 && o.Time > all.Operations[i-1].Time) {
			t.Fatalf("row %d time %d outside [%d, %d] or not newest first", i, o.Time, start, end)
		}
	}
	// The deprecated path /oplog answers the same.
	var alias opList
	if st := call(t, http.MethodGet, base+"/oplog?to="+fmt.Sprint(all.To), nil, &alias); st != 200 || actionsOf(alias) != want {
		t.Fatalf("the /oplog alias: HTTP %d %q, want %q", st, actionsOf(alias), want)
	}
	if all.To < end || all.From != all.To-7*24*60*60*1000 {
		t.Fatalf("default range [%d, %d]", all.From, all.To)
	}
	byAction := map[string]opRow{}
	for _, o := range all.Operations {
		byAction[o.Action] = o
	}
	if o := byAction["CREATE_INSTANCE"]; o.Operator != "admin" {
		t.Errorf("default operator: %+v", o)
	}
	if o := byAction["CREATE_CONFIG"]; o.Operator != "alice" || o.Target != "PRICE" || o.Details["description"] != "prices" || o.Details["repushMode"] != "queue" || o.Details["target"] != "user" {
		t.Errorf("create: %+v", o)
	}
	mod := byAction["MODIFY_CONFIG"]
	if mod.Operator != "bob" || len(mod.Changes) != 2 || mod.Changes["repushMode"].Old != "queue" || mod.Changes["repushMode"].New != "threshold" ||
		mod.Changes["threshold"].Old != "0" || mod.Changes["threshold"].New != "5" {
		t.Errorf("modify: %+v", mod)
	}
	if o := byAction["OFFLINE_CONFIG"]; o.Details["online"] != "false" || o.Details["threshold"] != "5" {
		t.Errorf("offline: %+v", o)
	}
	if o := byAction["CREATE_PUSH"]; o.Operator != "bob" || o.Details["linkToken"] != "u1" || o.Details["thirdMsgId"] != "m1" || o.Details["payload"] != "9.99" ||
		o.Details["appMinVersion"] != "1.2" || o.Details["validTimeEnd"] != "9999999999999" || o.Details["msg"] != "SUCCESS" || o.Details["oplogId"] == "" {
		t.Errorf("push: %+v", o)
	}
	if o := byAction["SIGNATURE_OFF"]; o.Operator != "carol" || o.Changes["signatureCheck"].New != "off" {
		t.Errorf("signature off: %+v", o)
	}
	if o := byAction["DELETE_CONFIG"]; o.Details["bizType"] != "PRICE" || o.Details["threshold"] != "5" {
		t.Errorf("delete shows the deleted config: %+v", o)
	}

	// Filters.
	for _, tc := range []struct {
		q    url.Values
		want string
	}{
		{url.Values{"operator": {"alice"}}, "DELETE_CONFIG ONLINE_CONFIG OFFLINE_CONFIG CREATE_CONFIG"},
		{url.Values{"action": {"MODIFY_CONFIG"}}, "MODIFY_CONFIG"},
		{url.Values{"action": {"signature_off"}}, "SIGNATURE_OFF"},
		{url.Values{"operator": {"bob"}, "action": {"CREATE_PUSH"}}, "CREATE_PUSH"},
		{url.Values{"operator": {"nobody"}}, ""},
		{url.Values{"from": {fmt.Sprint(mid)}}, "DELETE_CONFIG SIGNATURE_ON SIGNATURE_OFF"},
		{url.Values{"to": {time.UnixMilli(mid).UTC().Format(time.RFC3339Nano)}}, "CREATE_PUSH ONLINE_CONFIG OFFLINE_CONFIG MODIFY_CONFIG CREATE_CONFIG CREATE_INSTANCE"},
		{url.Values{"from": {fmt.Sprint(mid)}, "to": {fmt.Sprint(end)}, "operator": {"carol"}}, "SIGNATURE_ON SIGNATURE_OFF"},
		{url.Values{"to": {fmt.Sprint(start - 1)}}, ""},
		{url.Values{"from": {time.Now().UTC().Add(-24 * time.Hour).Format(time.DateOnly)}}, want},
		{url.Values{"limit": {"2"}}, "DELETE_CONFIG SIGNATURE_ON"},
		// The default window is the 7 days before "to".
		{url.Values{"to": {fmt.Sprint(end + 6*24*60*60*1000)}}, want},
		{url.Values{"to": {fmt.Sprint(end + 8*24*60*60*1000)}}, ""},
	} {
		st, l := queryOperations(t, srv.URL, inst, tc.q)
		if st != 200 || actionsOf(l) != tc.want {
			t.Errorf("operations?%s: HTTP %d %q, want %q", tc.q.Encode(), st, actionsOf(l), tc.want)
		}
	}
	for _, q := range []url.Values{{"from": {"yesterday"}}, {"from": {fmt.Sprint(end)}, "to": {fmt.Sprint(start)}}, {"limit": {"0"}}, {"limit": {"1001"}}} {
		if st, l := queryOperations(t, srv.URL, inst, q); st != 400 || l.Error.Code != "INVALID" {
			t.Errorf("operations?%s: HTTP %d %+v", q.Encode(), st, l.Error)
		}
	}
	if st, l := queryOperations(t, srv.URL, "ws_NOSUCH", nil); st != 404 || l.Error.Code != "INSTANCE_NOT_FOUND" {
		t.Errorf("operations of an unknown instance: HTTP %d %+v", st, l.Error)
	}
	var bad map[string]any
	if st := callWith(t, http.MethodPost, base+"/biztypes/PRICE/online", nil, &bad, http.Header{"Authorization": {"Bearer " + adminToken}, "X-Opsync-Operator": {strings.Repeat("x", 65)}}); st != 400 {
		t.Errorf("an operator over 64 characters: HTTP %d", st)
	}

	// The 1000-row cap: with 1010 more rows, a query answers the newest
	// 1000 and says it was truncated.
	putBizType(t, srv.URL, inst, "FLIP", map[string]any{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 252; i++ {
				verb := []string{"offline", "online"}[i%2]
				if st := as(t, fmt.Sprint("flipper-", w), http.MethodPost, base+"/biztypes/FLIP/"+verb, nil); st != 200 {
					t.Errorf("flip: %d", st)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	st, capped := queryOperations(t, srv.URL, inst, nil)
	if st != 200 || len(capped.Operations) != 1000 || !capped.Truncated {
		t.Fatalf("after 1018 rows: HTTP %d, %d rows, truncated %v", st, len(capped.Operations), capped.Truncated)
	}
	if o := capped.Operations[0]; !strings.HasPrefix(o.Operator, "flipper-") {
		t.Fatalf("newest row %+v", o)
	}
	_, one := queryOperations(t, srv.URL, inst, url.Values{"operator": {"flipper-2"}})
	if len(one.Operations) != 252 || one.Truncated {
		t.Fatalf("flipper-2: %d rows", len(one.Operations))
	}

	// The log is journaled: a restarted node answers the same.
	srv.kill9()
	srv2 := startServer(t, dir)
	st, again := queryOperations(t, srv2.URL, inst, url.Values{"to": {fmt.Sprint(end)}})
	if st != 200 || actionsOf(again) != want {
		t.Fatalf("after restart: HTTP %d %q", st, actionsOf(again))
	}
}

// The bizType filter keeps the rows about one bizType (their target):
// its config changes and its pushes, exactly (case included), none of
// the instance's own rows; it combines with the other filters, and the
// deprecated /oplog alias takes it too.
func TestOperationLogByBizType(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_OPBIZ"
	base := srv.URL + "/api/v1/instances/" + inst
	createInstance(t, srv.URL, inst)
	for _, biz := range []string{"NEWS", "NEWS2", "news"} {
		if st := as(t, "alice", http.MethodPut, base+"/biztypes/"+biz, map[string]any{"target": "user"}); st != 200 {
			t.Fatalf("create %s: %d", biz, st)
		}
	}
	push := func(biz, msg string) {
		t.Helper()
		var pa pushAnswer
		if st := callWith(t, http.MethodPost, base+"/push", map[string]any{"bizType": biz, "linkToken": "u1", "thirdMsgId": msg, "payload": "x"},
			&pa, http.Header{"Authorization": {"Bearer " + adminToken}, "X-Opsync-Operator": {"bob"}}); st != 200 || pa.Msg != "SUCCESS" {
			t.Fatalf("push %s: %d %+v", biz, st, pa)
		}
	}
	push("NEWS", "m1")
	push("NEWS2", "m2")
	as(t, "carol", http.MethodPost, base+"/biztypes/NEWS/offline", nil)
	as(t, "carol", http.MethodPatch, base+"/settings", map[string]any{"signatureCheck": false})

	for _, tc := range []struct {
		q    url.Values
		want string
	}{
		{url.Values{"bizType": {"NEWS"}}, "OFFLINE_CONFIG CREATE_PUSH CREATE_CONFIG"},
		{url.Values{"bizType": {"news"}}, "CREATE_CONFIG"},
		{url.Values{"bizType": {"NEW"}}, ""},
		{url.Values{"bizType": {"NEWS"}, "operator": {"bob"}}, "CREATE_PUSH"},
		{url.Values{"bizType": {"NEWS2"}, "action": {"create_push"}}, "CREATE_PUSH"},
		{url.Values{"bizType": {"NEWS"}, "limit": {"1"}}, "OFFLINE_CONFIG"},
		{url.Values{}, "SIGNATURE_OFF OFFLINE_CONFIG CREATE_PUSH CREATE_PUSH CREATE_CONFIG CREATE_CONFIG CREATE_CONFIG CREATE_INSTANCE"},
	} {
		st, l := queryOperations(t, srv.URL, inst, tc.q)
		if st != 200 || actionsOf(l) != tc.want {
			t.Errorf("operations?%s: HTTP %d %q, want %q", tc.q.Encode(), st, actionsOf(l), tc.want)
		}
		for _, o := range l.Operations {
			if b := tc.q.Get("bizType"); b != "" && o.Target != b {
				t.Errorf("operations?%s answered a row about %q", tc.q.Encode(), o.Target)
			}
		}
	}
	if _, l := queryOperations(t, srv.URL, inst, url.Values{"bizType": {"NEWS"}, "limit": {"2"}}); !l.Truncated {
		t.Error("2 of the 3 rows of NEWS: not truncated")
	}
	var alias opList
	if st := call(t, http.MethodGet, base+"/oplog?bizType=NEWS2", nil, &alias); st != 200 || actionsOf(alias) != "CREATE_PUSH CREATE_CONFIG" {
		t.Errorf("/oplog?bizType=NEWS2: HTTP %d %q", st, actionsOf(alias))
	}
	if st, l := queryOperations(t, srv.URL, inst, url.Values{"bizType": {strings.Repeat("b", 31)}}); st != 400 || l.Error.Code != "INVALID" {
		t.Errorf("a bizType over 30 characters: HTTP %d %+v", st, l.Error)
	}
}
