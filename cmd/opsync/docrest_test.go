package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/opsync/opsync/internal/node"
)

// `opsync doc <resource> <verb>` against a real node: signed calls, each
// verb's path and method, errors on stderr with exit 1.
func TestDocRESTCommand(t *testing.T) {
	const token, env = "doc-cli-admin", "env_DOCCLI"
	n, err := node.Start(context.Background(), node.Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", AdminToken: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if st, raw, err := callJSON(http.MethodPost, n.HTTPURL()+"/api/v1/instances", map[string]string{"instanceId": env}, withAdminToken(token)); err != nil || st != http.StatusCreated {
		t.Fatalf("create instance: %d %s %v", st, raw, err)
	}
	st, raw, err := callJSON(http.MethodPost, n.HTTPURL()+"/api/v1/instances/"+env+"/doc/secret", nil, withAdminToken(token))
	var sec struct{ Secret string }
	if err != nil || st != http.StatusOK || json.Unmarshal(raw, &sec) != nil {
		t.Fatalf("issue secret: %d %s %v", st, raw, err)
	}
	doc := func(wantCode int, args ...string) map[string]any {
		t.Helper()
		var out, errOut bytes.Buffer
		full := append(args, "--server", n.HTTPURL(), "--env", env, "--secret", sec.Secret)
		if code := run(append([]string{"doc"}, full...), &out, &errOut); code != wantCode {
			t.Fatalf("doc %v: exit %d, want %d; stderr %s", args, code, wantCode, errOut.String())
		}
		if wantCode != 0 {
			if errOut.Len() == 0 {
				t.Fatalf("doc %v failed without a message", args)
			}
			return nil
		}
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatalf("doc %v printed %q", args, out.String())
		}
		return m
	}
	doc(0, "threads", "create", "--document", "d1", "--body", `{"id":"t1"}`)
	if c := doc(0, "comments", "create", "--document", "d1", "--body", `{"id":"c1","thread_id":"t1","user_id":"u","content":"hi"}`); c["content"] != "hi" {
		t.Fatalf("created %v", c)
	}
	doc(0, "comments", "update", "--document", "d1", "--id", "c1", "--body", `{"content":"edited"}`)
	doc(0, "comments", "delete", "--document", "d1", "--id", "c1")
	if l := doc(0, "comments", "list", "--document", "d1", "--thread", "t1"); len(l["data"].([]any)) != 0 {
		t.Fatalf("list without deleted: %v", l)
	}
	if l := doc(0, "comments", "list", "--document", "d1", "--include-deleted", "--limit", "10"); len(l["data"].([]any)) != 1 {
		t.Fatalf("list with deleted: %v", l)
	}
	if c := doc(0, "comments", "restore", "--document", "d1", "--id", "c1"); c["content"] != "edited" || c["deleted_at"] != nil {
		t.Fatalf("restored %v", c)
	}
	if th := doc(0, "threads", "resolve", "--document", "d1", "--id", "t1"); th["resolved_at"] == nil {
		t.Fatalf("resolved %v", th)
	}
	doc(0, "threads", "reopen", "--document", "d1", "--id", "t1")
	doc(0, "suggestions", "create", "--document", "d1", "--body", `{"id":"s1","user_id":"u","type":"insertion"}`)
	if s := doc(0, "suggestions", "accept", "--document", "d1", "--id", "s1"); s["state"] != "accepted" {
		t.Fatalf("accepted %v", s)
	}
	doc(0, "documents", "delete", "--id", "d1", "--force")
	doc(1, "comments", "get", "--document", "d1", "--id", "c1")
	doc(1, "comments", "list", "--document", "d1", "--limit", "1001")
	doc(2, "comments", "get", "--document", "d1")
	doc(2, "documents", "list")
	doc(1, "collaborations", "get", "--id", "d1") // no session: 404
	doc(2, "collaborations", "list")
	var out, errOut bytes.Buffer
	if code := runDocREST([]string{"comments", "list", "--server", n.HTTPURL(), "--env", env, "--secret", "wrong", "--document", "d1"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "401") {
		t.Fatalf("a wrong secret: exit %d, %s", code, errOut.String())
	}
}
