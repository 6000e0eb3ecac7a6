package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A backend written for the source's push API (no key, reads only HTTP 200
// answers, counts lengths as Java does) works against opsync unchanged.

// keylessPush sends body to a push API exactly as the source's Java sample
// does: JSON, no key header; hdr adds headers.
func keylessPush(t *testing.T, base, api, instance string, body any, hdr http.Header) (int, map[string]any) {
	t.Helper()
	if hdr == nil {
		hdr = http.Header{}
	}
	var a map[string]any
	st := callWith(t, http.MethodPost, base+"/webapi/sync/"+api+"?instanceId="+url.QueryEscape(instance), body, &a, hdr)
	return st, a
}

// patchSettings changes an instance's settings and returns the HTTP status
// and the answer.
func patchSettings(t *testing.T, base, instance string, body map[string]any) (int, map[string]any) {
	t.Helper()
	var a map[string]any
	st := call(t, http.MethodPatch, base+"/api/v1/instances/"+instance+"/settings", body, &a)
	return st, a
}

// Item 1: with the instance setting pushAuth "networks", pushes from the
// listed networks need no key (as the source's private deployment); the
// connection's address counts, never X-Forwarded-For; the change takes
// effect at the next push and is in the operation log.
func TestKeylessPushFromListedNetworks(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_KEYLESS"
	putBizType(t, srv.URL, inst, "CHAT", map[string]any{})
	putBizType(t, srv.URL, inst, "NEWS", map[string]any{"scope": "global"})
	single := func(id string) map[string]any {
		return map[string]any{"bizType": "CHAT", "linkToken": "u1", "thirdMsgId": id, "payload": id}
	}
	// (The HTTP status of these answers is item 2's: see
	// TestPushRefusalsAnswerHTTP200.)
	expect := func(api string, body any, hdr http.Header, code, when string) {
		t.Helper()
		if st, a := keylessPush(t, srv.URL, api, inst, body, hdr); a["msg"] != code {
			t.Fatalf("%s, %s push: HTTP %d %v, want %s", when, api, st, a, code)
		}
	}

	expect("single", single("k0"), nil, "UNAUTHORIZED", "a new instance wants its key")

	st, a := patchSettings(t, srv.URL, inst, map[string]any{"pushAuth": "networks", "pushNetworks": []string{"127.0.0.1/8"}})
	settings, _ := a["settings"].(map[string]any)
	if st != 200 || settings["pushAuth"] != "networks" || fmt.Sprint(settings["pushNetworks"]) != "[127.0.0.0/8]" {
		t.Fatalf("open to 127.0.0.0/8: HTTP %d %v", st, a)
	}
	expect("single", single("k1"), nil, "SUCCESS", "right after opening the network")
	expect("global", map[string]any{"bizType": "NEWS", "thirdMsgId": "g1", "payload": "g"}, nil, "SUCCESS", "keyless")
	if st, a := keylessPush(t, srv.URL, "batch", inst, map[string]any{"items": []any{single("k2"), single("k3")}}, nil); st != 200 || a["success"] != true ||
		fmt.Sprint(a["results"]) == "" || strings.Count(fmt.Sprint(a["results"]), "SUCCESS") != 2 {
		t.Fatalf("keyless batch: HTTP %d %v", st, a)
	}

	// Another network: 127.0.0.1 is not in it, whatever a header says; the
	// key still works from anywhere.
	if st, a := patchSettings(t, srv.URL, inst, map[string]any{"pushNetworks": []string{"10.0.0.0/8"}}); st != 200 {
		t.Fatalf("10.0.0.0/8: HTTP %d %v", st, a)
	}
	expect("single", single("k4"), nil, "UNAUTHORIZED", "from outside the listed network")
	expect("single", single("k5"), http.Header{"X-Forwarded-For": {"10.1.2.3"}, "X-Real-Ip": {"10.1.2.3"}}, "UNAUTHORIZED", "with a forged X-Forwarded-For")
	expect("single", single("k6"), http.Header{"X-Opsync-Api-Key": {apiKey(t, srv.URL, inst)}}, "SUCCESS", "with the key from outside")

	// Settings that cannot work are refused.
	for name, body := range map[string]map[string]any{
		"unknown mode":           {"pushAuth": "none"},
		"not a network":          {"pushNetworks": []string{"10.0.0.0/33"}},
		"a host name":            {"pushNetworks": []string{"backend.example"}},
		"networks mode, no list": {"pushNetworks": []string{}},
	} {
		if st, a := patchSettings(t, srv.URL, inst, body); st != 400 || a["error"].(map[string]any)["code"] != "INVALID" {
			t.Errorf("%s: HTTP %d %v, want 400 INVALID", name, st, a)
		}
	}

	// Through the CLI, back to the key.
	out, errOut, code := run(t, "instance", "settings", "--server", srv.URL, "--instance", inst, "--push-auth", "api-key", "--operator", "ops")
	if code != 0 || !strings.Contains(out, `"pushAuth": "apiKey"`) && !strings.Contains(out, `"pushAuth":"apiKey"`) {
		t.Fatalf("opsync instance settings --push-auth api-key: exit %d\n%s%s", code, out, errOut)
	}
	expect("single", single("k7"), http.Header{"X-Forwarded-For": {"127.0.0.1"}}, "UNAUTHORIZED", "back to the key")
	out, errOut, code = run(t, "instance", "settings", "--server", srv.URL, "--instance", inst, "--push-auth", "networks", "--push-networks", "127.0.0.1, ::1")
	if code != 0 || !strings.Contains(out, "127.0.0.1/32") {
		t.Fatalf("opsync instance settings --push-networks: exit %d\n%s%s", code, out, errOut)
	}
	expect("single", single("k8"), nil, "SUCCESS", "open to 127.0.0.1 through the CLI")

	// The operation log shows who opened the instance, to what.
	st, l := queryOperations(t, srv.URL, inst, url.Values{"action": {"MODIFY_SETTINGS"}})
	if st != 200 || len(l.Operations) != 4 {
		t.Fatalf("MODIFY_SETTINGS rows: HTTP %d %+v", st, l.Operations)
	}
	first, back := l.Operations[3], l.Operations[1]
	if c := first.Changes["pushAuth"]; c.Old != "apiKey" || c.New != "networks" || first.Changes["pushNetworks"].New != "127.0.0.0/8" {
		t.Fatalf("opening row: %+v", first)
	}
	if c := back.Changes["pushAuth"]; back.Operator != "ops" || c.Old != "networks" || c.New != "apiKey" {
		t.Fatalf("closing row: %+v", back)
	}
}

// Item 2: every answer of the push APIs is HTTP 200 with the source's
// {"success","msg"}, also for what opsync refuses itself; serve
// --strict-push-status gives opsync's statuses back; the admin API keeps
// real statuses.
func TestPushRefusalsAnswerHTTP200(t *testing.T) {
	const inst = "ws_STATUS"
	start := func(extra ...string) *server {
		s := startServer(t, t.TempDir(), extra...)
		putBizType(t, s.URL, inst, "CHAT", map[string]any{})
		putBizType(t, s.URL, inst, "NEWS", map[string]any{"scope": "global"})
		return s
	}
	source := start()
	ok := map[string]any{"bizType": "CHAT", "linkToken": "u1", "thirdMsgId": "m1", "payload": "x"}
	with := func(kv ...any) map[string]any {
		c := map[string]any{}
		for k, v := range ok {
			c[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	cases := []struct {
		name     string
		method   string
		api      string
		instance string
		body     any
		noKey    bool
		code     string
		strict   int // the HTTP status with --strict-push-status
	}{
		{"linkToken over 100 characters", "POST", "single", inst, with("linkToken", strings.Repeat("u", 101)), false, "ARGS_INVALID", 400},
		{"bad base64", "POST", "single", inst, with("payload", "", "binaryPayload", "%%%"), false, "ARGS_INVALID", 400},
		{"both payloads", "POST", "single", inst, with("binaryPayload", "AAE="), false, "ARGS_INVALID", 400},
		{"a number for a string", "POST", "single", inst, with("payload", 42), false, "ARGS_INVALID", 400},
		{"not JSON", "POST", "single", inst, "{bizType", false, "ARGS_INVALID", 400},
		{"an empty body", "POST", "single", inst, nil, false, "ARGS_IS_NULL", 200},
		{"an unknown instance", "POST", "single", "ws_NOSUCH", ok, false, "INSTANCE_NOT_FOUND", 404},
		{"GET", "GET", "single", inst, nil, false, "ARGS_INVALID", 405},
		{"no key", "POST", "single", inst, ok, true, "UNAUTHORIZED", 401},
		{"global with a linkToken", "POST", "global", inst, map[string]any{"bizType": "NEWS", "linkToken": "u", "thirdMsgId": "g", "payload": "x"}, false, "ARGS_INVALID", 400},
		{"global: an empty body", "POST", "global", inst, nil, false, "ARGS_IS_NULL", 200},
		{"global: GET", "GET", "global", inst, nil, false, "ARGS_INVALID", 405},
		{"batch: not items", "POST", "batch", inst, `{"items":{}}`, false, "ARGS_INVALID", 400},
		{"batch: an empty body", "POST", "batch", inst, nil, false, "ARGS_IS_NULL", 200},
		{"batch: an unknown instance", "POST", "batch", "ws_NOSUCH", map[string]any{"items": []any{ok}}, false, "INSTANCE_NOT_FOUND", 404},
		{"batch: GET", "GET", "batch", inst, nil, false, "ARGS_INVALID", 405},
		{"batch: no key", "POST", "batch", inst, map[string]any{"items": []any{ok}}, true, "UNAUTHORIZED", 401},
	}
	check := func(s *server, strict bool) {
		for _, tc := range cases {
			var hdr http.Header // call's credentials
			if tc.noKey {
				hdr = http.Header{}
			}
			var a pushAnswer
			st := callWith(t, tc.method, s.URL+"/webapi/sync/"+tc.api+"?instanceId="+tc.instance, tc.body, &a, hdr)
			want := 200
			if strict {
				want = tc.strict
			}
			if st != want || a.Success || a.Msg != tc.code {
				t.Errorf("%s (strict %v): HTTP %d %+v, want HTTP %d %s", tc.name, strict, st, a, want, tc.code)
			}
		}
	}
	check(source, false)
	check(start("--strict-push-status"), true)

	// The admin API keeps its statuses, the console's push included.
	var e map[string]any
	if st := call(t, http.MethodPost, source.URL+"/api/v1/instances/ws_NOSUCH/push", ok, &e); st != 404 {
		t.Errorf("admin push to an unknown instance: HTTP %d %v", st, e)
	}
	if st := call(t, http.MethodPost, source.URL+"/api/v1/instances/"+inst+"/push", with("binaryPayload", "AAE="), &e); st != 400 || e["msg"] != "ARGS_INVALID" {
		t.Errorf("admin push with both payloads: HTTP %d %v", st, e)
	}
	if st := call(t, http.MethodPatch, source.URL+"/api/v1/instances/"+inst+"/settings", map[string]any{"pushAuth": 1}, &e); st != 400 {
		t.Errorf("admin settings of the wrong type: HTTP %d %v", st, e)
	}

	// The CLI's push reads the answer, not the status: a refusal exits 1.
	out, _, code := run(t, "push", "--server", source.URL, "--instance", inst, "--biz", "CHAT", "--link-token", "u1", "--msg-id", "c1", "--payload", "x", "--api-key", "wrong")
	if code != 1 || !strings.Contains(out, "UNAUTHORIZED") {
		t.Errorf("opsync push with a wrong key: exit %d %q", code, out)
	}
}

// Item 9: lengths count UTF-16 code units as the source's Java does (an
// emoji is two), and a body that is not UTF-8 is refused with
// ARGS_NOT_UTF8 instead of being stored with replacement characters.
func TestPushLimitsCountUTF16AndBodiesMustBeUTF8(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst, user, emoji = "ws_UTF16", "u1", "😀"
	putBizType(t, srv.URL, inst, "CODES", map[string]any{})
	body := func(id, payload string) map[string]any {
		return map[string]any{"bizType": "CODES", "linkToken": user, "thirdMsgId": id, "payload": payload}
	}
	full := strings.Repeat(emoji, 2048) // 4096 code units
	latin1 := []byte("{\"bizType\":\"CODES\",\"linkToken\":\"u1\",\"thirdMsgId\":\"l1\",\"payload\":\"caf\xe9\"}")
	for _, tc := range []struct {
		name string
		body any
		code string
	}{
		{"payload of 4096 code units", body("e1", full), "SUCCESS"},
		{"payload of 4000 characters, 5000 code units", body("e2", strings.Repeat("a", 3000)+strings.Repeat(emoji, 1000)), "PAYLOAD_LONG"},
		{"thirdMsgId of 50 emoji", body(strings.Repeat(emoji, 50), "x"), "SUCCESS"},
		{"thirdMsgId of 51 emoji", body(strings.Repeat(emoji, 51), "x"), "THIRD_MSG_ID_LONG"},
		{"linkToken of 51 emoji", map[string]any{"bizType": "CODES", "linkToken": strings.Repeat(emoji, 51), "thirdMsgId": "e3", "payload": "x"}, "ARGS_INVALID"},
		{"a Latin-1 body", latin1, "ARGS_NOT_UTF8"},
		{"half a surrogate pair", `{"bizType":"CODES","linkToken":"u1","thirdMsgId":"s1","payload":"a\ud83d"}`, "ARGS_NOT_UTF8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, a := push(t, srv.URL, inst, tc.body); st != 200 || a.Msg != tc.code {
				t.Fatalf("HTTP %d %+v, want %s", st, a, tc.code)
			}
		})
	}
	// The batch checks its items alike.
	var b batchAnswer
	okItem, _ := json.Marshal(body("b1", "ok"))
	longItem, _ := json.Marshal(body(strings.Repeat(emoji, 51), "x"))
	raw := "{\"items\":[" + string(latin1) + "," + string(okItem) + "," + string(longItem) + "]}"
	if st := call(t, http.MethodPost, srv.URL+"/webapi/sync/batch?instanceId="+inst, []byte(raw), &b); st != 200 || len(b.Results) != 3 ||
		b.Results[0].Msg != "ARGS_NOT_UTF8" || b.Results[1].Msg != "SUCCESS" || b.Results[2].Msg != "THIRD_MSG_ID_LONG" {
		t.Fatalf("batch: HTTP %d %+v", st, b)
	}

	// The stream holds the accepted entries exactly as sent.
	lines := startTail(t, srv.URL, inst, "--user", user, "--biz", "CODES", "--state", filepath.Join(t.TempDir(), "s.json"), "--count", "4").
		linesAfterPush(t, srv.URL, inst, user)
	if len(lines) != 4 || lines[0].Payload != full || lines[1].ThirdMsgID != strings.Repeat(emoji, 50) || lines[2].ThirdMsgID != "b1" {
		t.Fatalf("stream holds %+v", lines)
	}

	// A linkToken within the limit names a user who can connect: a
	// client's userId is measured as the linkToken is.
	wide := strings.Repeat("用", 100) // 100 code units, 300 bytes
	pushOK(t, srv.URL, inst, "CODES", wide, "w1")
	got := startTail(t, srv.URL, inst, "--user", wide, "--biz", "CODES", "--state", filepath.Join(t.TempDir(), "w.json"), "--count", "1").collect(t, time.Minute)
	if len(got) != 1 || got[0].ThirdMsgID != "w1" {
		t.Fatalf("user %q received %+v", wide, got)
	}
}

// Item 11: pushes through /webapi are counted per instance
// (opsync_webapi_pushes_total{instance,api}), only for instances that
// exist and authorized them; with the instance setting logApiPushes they
// are recorded in the operation log as the console's pushes are.
func TestWebAPIPushesCountedPerInstanceAndLogged(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const a, b = "ws_COUNTA", "ws_COUNTB"
	for _, inst := range []string{a, b} {
		putBizType(t, srv.URL, inst, "CHAT", map[string]any{})
		putBizType(t, srv.URL, inst, "NEWS", map[string]any{"scope": "global"})
	}
	item := func(id string) map[string]any {
		return map[string]any{"bizType": "CHAT", "linkToken": "u1", "thirdMsgId": id, "payload": id}
	}
	pushOK(t, srv.URL, a, "CHAT", "u1", "a1")
	pushOK(t, srv.URL, a, "CHAT", "u1", "a2")
	var g pushAnswer
	if st := call(t, http.MethodPost, srv.URL+"/webapi/sync/global?instanceId="+a, map[string]any{"bizType": "NEWS", "thirdMsgId": "g1", "payload": "g"}, &g); st != 200 || g.Msg != "SUCCESS" {
		t.Fatalf("global: %d %+v", st, g)
	}
	var ba batchAnswer
	if st := call(t, http.MethodPost, srv.URL+"/webapi/sync/batch?instanceId="+b, map[string]any{"items": []any{item("b1"), item("b2"), item("b3")}}, &ba); st != 200 || !ba.Success {
		t.Fatalf("batch: %d %+v", st, ba)
	}
	keylessPush(t, srv.URL, "single", b, item("refused"), nil) // unauthorized: not counted
	keylessPush(t, srv.URL, "single", "ws_NOSUCH", item("x"), nil)
	for sample, want := range map[string]float64{
		`opsync_webapi_pushes_total{api="single",instance="` + a + `"}`: 2,
		`opsync_webapi_pushes_total{api="global",instance="` + a + `"}`: 1,
		`opsync_webapi_pushes_total{api="batch",instance="` + b + `"}`:  3,
		`opsync_webapi_pushes_total{api="single",instance="` + b + `"}`: 0,
		`opsync_webapi_pushes_total{api="single",instance="ws_NOSUCH"}`: 0,
	} {
		if got := metricValue(t, srv.URL, sample); got != want {
			t.Errorf("%s = %v, want %v", sample, got, want)
		}
	}

	// Not logged by default; logged once the instance asks.
	if _, l := queryOperations(t, srv.URL, a, url.Values{"action": {"CREATE_PUSH"}}); len(l.Operations) != 0 {
		t.Fatalf("API pushes logged without the setting: %+v", l.Operations)
	}
	if st, ans := patchSettings(t, srv.URL, a, map[string]any{"logApiPushes": true}); st != 200 || ans["settings"].(map[string]any)["logApiPushes"] != true {
		t.Fatalf("logApiPushes: HTTP %d %v", st, ans)
	}
	id := pushOK(t, srv.URL, a, "CHAT", "u1", "a3")
	if st := call(t, http.MethodPost, srv.URL+"/webapi/sync/batch?instanceId="+a, map[string]any{"items": []any{item("a4"), map[string]any{"bizType": "NOPE", "linkToken": "u1", "thirdMsgId": "a5", "payload": "x"}}}, &ba); st != 200 || ba.Results[0].Msg != "SUCCESS" {
		t.Fatalf("batch: %d %+v", st, ba)
	}
	_, l := queryOperations(t, srv.URL, a, url.Values{"action": {"CREATE_PUSH"}})
	if len(l.Operations) != 2 {
		t.Fatalf("CREATE_PUSH rows: %+v", l.Operations)
	}
	batchRow, single := l.Operations[0], l.Operations[1]
	if d := single.Details; single.Operator != "webapi" || single.Target != "CHAT" || d["api"] != "single" || d["thirdMsgId"] != "a3" || d["linkToken"] != "u1" ||
		d["msg"] != "SUCCESS" || d["oplogId"] != fmt.Sprint(id) || d["remoteAddr"] != "127.0.0.1" || d["payload"] != "p-a3" {
		t.Fatalf("single push row: %+v", single)
	}
	if d := batchRow.Details; batchRow.Operator != "webapi" || d["api"] != "batch" || d["thirdMsgId"] != "a4" {
		t.Fatalf("batch row (the refused item is not logged): %+v", batchRow)
	}
	if _, l := queryOperations(t, srv.URL, a, url.Values{"action": {"MODIFY_SETTINGS"}}); len(l.Operations) != 1 || l.Operations[0].Changes["logApiPushes"].New != "true" {
		t.Fatalf("the setting's row: %+v", l.Operations)
	}
}
