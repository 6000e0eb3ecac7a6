package e2e

import (
	"net/http"
	"testing"
)

// Instance ids of dots only are refused: "." and ".." are rewritten by the
// router's path cleaning, so an instance so named could be created and
// never managed again. Ids with dots among other characters stay
// manageable.
func TestInstanceIDsOfDotsAreRefused(t *testing.T) {
	srv := startServer(t, t.TempDir())
	for _, id := range []string{".", "..", "..."} {
		var e instanceAnswer
		if st := call(t, http.MethodPost, srv.URL+"/api/v1/instances", map[string]string{"instanceId": id}, &e); st != 400 || e.Error.Code != "INVALID" {
			t.Errorf("create %q: HTTP %d %+v", id, st, e.Error)
		}
		var ans pushAnswer
		call(t, http.MethodPost, srv.URL+"/webapi/sync/single?instanceId="+id, map[string]any{"bizType": "CHAT", "linkToken": "u", "thirdMsgId": "m", "payload": "x"}, &ans)
		if ans.Success || ans.Msg != "ARGS_INVALID" {
			t.Errorf("push to %q: %+v", id, ans)
		}
	}
	const dotted = ".ws.APP."
	createInstance(t, srv.URL, dotted)
	var e instanceAnswer
	if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+dotted, nil, &e); st != 200 || e.Instance.InstanceID != dotted {
		t.Fatalf("get %s: HTTP %d %+v", dotted, st, e.Error)
	}
	putBizType(t, srv.URL, dotted, "CHAT", map[string]any{})
	if _, ans := push(t, srv.URL, dotted, map[string]any{"bizType": "CHAT", "linkToken": "u", "thirdMsgId": "m", "payload": "x"}); ans.Msg != "SUCCESS" {
		t.Fatalf("push to %s: %+v", dotted, ans)
	}
}
