package e2e

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Every result code of the single push API that applies without the full
// config semantics, and opsync's answers to malformed input; afterwards the
// stream holds exactly the accepted entries.
func TestSinglePushResultCodes(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst, user = "ws_CODES", "u1"
	putBizType(t, srv.URL, inst, "CODES", map[string]any{"target": "user"})
	putBizType(t, srv.URL, inst, "GLOBAL-CFG", map[string]any{"scope": "global"})
	putBizType(t, srv.URL, inst, "PAUSED", map[string]any{})
	var ans map[string]any
	if st := call(t, http.MethodPost, srv.URL+"/api/v1/instances/"+inst+"/biztypes/PAUSED/offline", nil, &ans); st != 200 {
		t.Fatalf("offline: %d %v", st, ans)
	}

	ok := func(msgID string) map[string]any {
		return map[string]any{"bizType": "CODES", "linkToken": user, "thirdMsgId": msgID, "payload": "p-" + msgID}
	}
	with := func(m map[string]any, kv ...any) map[string]any {
		c := map[string]any{}
		for k, v := range m {
			c[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	long := func(n int) string { return strings.Repeat("字", n) }

	cases := []struct {
		name     string
		instance string
		body     any
		status   int
		code     string
		success  bool
		stored   string // thirdMsgId stored by this push, if any
	}{
		{"accepted", inst, ok("m1"), 200, "SUCCESS", true, "m1"},
		{"repeat is idempotent", inst, with(ok("m1"), "payload", "other"), 200, "DUPLICATED_BIZ_ID", true, ""},
		{"binary payload", inst, with(ok("m2"), "payload", nil, "binaryPayload", base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255})), 200, "SUCCESS", true, "m2"},
		{"payload of 4096 characters", inst, with(ok("m3"), "payload", long(4096)), 200, "SUCCESS", true, "m3"},
		{"thirdMsgId of 100 characters", inst, ok(strings.Repeat("x", 100)), 200, "SUCCESS", true, strings.Repeat("x", 100)},
		{"validTimeEnd as a string", inst, with(ok("m4"), "validTimeEnd", fmt.Sprint(time.Now().Add(time.Hour).UnixMilli())), 200, "SUCCESS", true, "m4"},
		{"no instanceId", "", ok("n1"), 200, "ARGS_IS_NULL", false, ""},
		{"unknown instance", "ws_NOPE", ok("n2"), 200, "INSTANCE_NOT_FOUND", false, ""},
		{"instanceId with a slash", "ws/x", ok("n3"), 200, "ARGS_INVALID", false, ""},
		{"empty object", inst, map[string]any{}, 200, "ARGS_IS_NULL", false, ""},
		{"no bizType", inst, with(ok("n4"), "bizType", nil), 200, "ARGS_IS_NULL", false, ""},
		{"no linkToken", inst, with(ok("n5"), "linkToken", nil), 200, "ARGS_IS_NULL", false, ""},
		{"no payload", inst, with(ok("n6"), "payload", nil), 200, "ARGS_IS_NULL", false, ""},
		{"no thirdMsgId", inst, with(ok("n7"), "thirdMsgId", nil), 200, "THIRDMSGID_IS_NULL", false, ""},
		{"payload too long", inst, with(ok("n8"), "payload", long(4097)), 200, "PAYLOAD_LONG", false, ""},
		{"binaryPayload too long", inst, with(ok("n9"), "payload", nil, "binaryPayload", base64.StdEncoding.EncodeToString(make([]byte, 3075))), 200, "PAYLOAD_LONG", false, ""},
		{"thirdMsgId too long", inst, ok(strings.Repeat("x", 101)), 200, "THIRD_MSG_ID_LONG", false, ""},
		{"unknown bizType", inst, with(ok("n10"), "bizType", "NO-SUCH"), 200, "BIZ_NOT_ONLINE", false, ""},
		{"offline bizType", inst, with(ok("n11"), "bizType", "PAUSED"), 200, "BIZ_NOT_ONLINE", false, ""},
		{"global bizType on the single API", inst, with(ok("n12"), "bizType", "GLOBAL-CFG"), 200, "NOT_SUPPORT_GLOBAL", false, ""},
		{"not JSON", inst, "{bizType: CODES", 200, "ARGS_INVALID", false, ""},
		{"JSON array", inst, "[1,2]", 200, "ARGS_INVALID", false, ""},
		{"payload of the wrong type", inst, with(ok("n13"), "payload", 42), 200, "ARGS_INVALID", false, ""},
		{"payload and binaryPayload", inst, with(ok("n14"), "binaryPayload", "AAE="), 200, "ARGS_INVALID", false, ""},
		{"binaryPayload not base64", inst, with(ok("n15"), "payload", nil, "binaryPayload", "%%%"), 200, "ARGS_INVALID", false, ""},
		{"validTimeEnd not a number", inst, with(ok("n16"), "validTimeEnd", "tomorrow"), 200, "ARGS_INVALID", false, ""},
		{"linkToken too long", inst, with(ok("n17"), "linkToken", strings.Repeat("u", 101)), 200, "ARGS_INVALID", false, ""},
		{"trailing garbage", inst, `{"bizType":"CODES","linkToken":"u1","thirdMsgId":"n18","payload":"x"} {}`, 200, "ARGS_INVALID", false, ""},
		{"body over 1 MiB", inst, `{"bizType":"CODES","linkToken":"u1","thirdMsgId":"n19","payload":"` + strings.Repeat("a", 2<<20) + `"}`, 200, "PAYLOAD_LONG", false, ""},
	}
	var stored []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var a pushAnswer
			u := srv.URL + "/webapi/sync/single"
			if tc.instance != "" {
				u += "?instanceId=" + tc.instance
			}
			st := call(t, http.MethodPost, u, tc.body, &a)
			if st != tc.status || a.Msg != tc.code || a.Success != tc.success {
				t.Fatalf("got HTTP %d %+v; want HTTP %d msg %s success %v", st, a, tc.status, tc.code, tc.success)
			}
		})
		if tc.stored != "" {
			stored = append(stored, tc.stored)
		}
	}

	t.Run("GET is refused", func(t *testing.T) {
		var a pushAnswer
		if st := call(t, http.MethodGet, srv.URL+"/webapi/sync/single?instanceId="+inst, nil, &a); st != 200 || a.Success || a.Msg != "ARGS_INVALID" {
			t.Fatalf("GET: %d %+v", st, a)
		}
	})

	// The server is still healthy and holds exactly the accepted entries, in
	// push order, the repeat not stored again.
	lines := startTail(t, srv.URL, inst, "--user", user, "--biz", "CODES",
		"--state", filepath.Join(t.TempDir(), "s.json"), "--count", fmt.Sprint(len(stored)+1)).linesAfterPush(t, srv.URL, inst, user)
	if len(lines) != len(stored)+1 {
		t.Fatalf("stream holds %d entries, want %d", len(lines), len(stored)+1)
	}
	for i, id := range stored {
		if lines[i].ThirdMsgID != id {
			t.Fatalf("entry %d is %q, want %q", i, lines[i].ThirdMsgID, id)
		}
	}
	if lines[0].Payload != "p-m1" {
		t.Fatalf("the repeat overwrote the first payload: %q", lines[0].Payload)
	}
}

// linesAfterPush pushes a sentinel entry and collects the tail's output,
// which ends with the sentinel: anything stored twice or wrongly would
// show up before it.
func (p *tailProc) linesAfterPush(t *testing.T, base, instance, user string) []tailLine {
	t.Helper()
	st, a := push(t, base, instance, map[string]any{"bizType": "CODES", "linkToken": user, "thirdMsgId": "sentinel", "payload": "end"})
	if st != 200 || a.Msg != "SUCCESS" {
		t.Fatalf("sentinel push: %d %+v", st, a)
	}
	lines := p.collect(t, time.Minute)
	if n := len(lines); n == 0 || lines[n-1].ThirdMsgID != "sentinel" {
		t.Fatalf("tail did not end with the sentinel: %+v", lines)
	}
	return lines
}
