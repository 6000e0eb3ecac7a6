package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// The block API: create answers a block_id, the business-id binding
// resolves both ways and is idempotent, and bad requests get clear codes.
func TestBlockAPICreateBindingAndErrors(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_BLOCKAPI"
	ensureInstance(t, srv.URL, inst)

	id := createBlock(t, srv.URL, inst, map[string]any{"business_id": "poll-42", "version": "3"})
	if !strings.HasPrefix(id, "blk_") {
		t.Fatalf("block_id %q", id)
	}
	again := createBlock(t, srv.URL, inst, map[string]any{"business_id": "poll-42", "source_data": `{"other":1}`})
	if again != id {
		t.Fatalf("a second create with the same business id made %s, want %s", again, id)
	}
	st, a := blockAPI(t, srv.URL, inst, http.MethodGet, "/open-apis/block/v2/entities/"+id, nil)
	if e := entityOf(t, st, a); e.BusinessID != "poll-42" || e.Version != "3" || e.SourceData != `{"votes":0}` {
		t.Fatalf("GET by id: %+v", e)
	}
	st, a = blockAPI(t, srv.URL, inst, http.MethodGet, "/open-apis/block/v2/entities?business_id=poll-42", nil)
	if e := entityOf(t, st, a); e.BlockID != id {
		t.Fatalf("GET by business id: %+v", e)
	}
	if other := createBlock(t, srv.URL, inst, nil); other == id {
		t.Fatal("a create without business id reused a block")
	}

	cases := []struct {
		name         string
		method, path string
		body         any
		status, code int
	}{
		{"unknown block", http.MethodGet, "/open-apis/block/v2/entities/blk_nosuchblock", nil, 404, 1770002},
		{"update of an unknown block", http.MethodPut, "/open-apis/block/v2/entities/blk_nosuchblock", map[string]any{"source_data": "{}"}, 404, 1770002},
		{"unknown business id", http.MethodGet, "/open-apis/block/v2/entities?business_id=nope", nil, 404, 1770002},
		{"source_data not a string", http.MethodPost, "/open-apis/block/v2/entities", map[string]any{"block_type_id": "t", "source_data": map[string]int{"a": 1}}, 400, 1770001},
		{"source_data not JSON", http.MethodPost, "/open-apis/block/v2/entities", map[string]any{"block_type_id": "t", "source_data": "{votes"}, 400, 1770001},
		{"no block_type_id", http.MethodPost, "/open-apis/block/v2/entities", map[string]any{"source_data": "{}"}, 400, 1770001},
		{"version not numeric", http.MethodPut, "/open-apis/block/v2/entities/" + id, map[string]any{"source_data": "{}", "version": "v2"}, 400, 1770001},
		{"version not greater", http.MethodPut, "/open-apis/block/v2/entities/" + id, map[string]any{"source_data": "{}", "version": "3"}, 409, 1770003},
		{"body over the limit", http.MethodPost, "/open-apis/block/v2/entities", map[string]any{"block_type_id": "t", "source_data": `"` + strings.Repeat("x", 70<<10) + `"`}, 413, 1770004},
		{"message without open_ids", http.MethodPost, "/open-apis/block/v2/message", map[string]any{"block_id": id, "body": "x"}, 400, 1770001},
		{"message to an unknown block", http.MethodPost, "/open-apis/block/v2/message", map[string]any{"block_id": "blk_nosuchblock", "open_ids": []string{"a"}}, 404, 1770002},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, a := blockAPI(t, srv.URL, inst, c.method, c.path, c.body)
			if st != c.status || a.Code != c.code || a.Msg == "" {
				t.Fatalf("HTTP %d code %d %q, want HTTP %d code %d", st, a.Code, a.Msg, c.status, c.code)
			}
		})
	}
	// The refused version stored nothing.
	st, a = blockAPI(t, srv.URL, inst, http.MethodGet, "/open-apis/block/v2/entities/"+id, nil)
	if e := entityOf(t, st, a); e.Version != "3" {
		t.Fatalf("after refusals the version is %s", e.Version)
	}

	for name, hdr := range map[string]http.Header{
		"no credential": {},
		"wrong key":     {"Authorization": {"Bearer not-a-key"}},
		"forged token":  {"Authorization": {"Bearer eyJhbGciOiJIUzI1NiJ9.eyJpaWQiOiJ3c19CTE9DS0FQSSIsInN1YiI6In50ZW5hbnQiLCJleHAiOjk5OTk5OTk5OTl9.c2ln"}},
	} {
		st, a := blockAPIWith(t, http.MethodGet, srv.URL+"/open-apis/block/v2/entities/"+id, nil, hdr)
		if st != 401 || (a.Code != 99991661 && a.Code != 99991663) {
			t.Errorf("%s: HTTP %d code %d %s", name, st, a.Code, a.Msg)
		}
	}
	// X-Opsync-Api-Key works as the bearer does.
	st, a = blockAPIWith(t, http.MethodGet, srv.URL+"/open-apis/block/v2/entities/"+id, nil, http.Header{"X-Opsync-Api-Key": {apiKey(t, srv.URL, inst)}})
	entityOf(t, st, a)
	// A tenant token for the instance's app id (its instance id) and app
	// secret (its API key) authorises the block API.
	var tok struct {
		Code   int    `json:"code"`
		Token  string `json:"tenant_access_token"`
		Expire int    `json:"expire"`
	}
	if st := callWith(t, http.MethodPost, srv.URL+"/open-apis/auth/v3/tenant_access_token/internal",
		map[string]string{"app_id": inst, "app_secret": apiKey(t, srv.URL, inst)}, &tok, http.Header{}); st != 200 || tok.Token == "" || tok.Expire != 7200 {
		t.Fatalf("tenant token: HTTP %d %+v", st, tok)
	}
	st, a = blockAPIWith(t, http.MethodGet, srv.URL+"/open-apis/block/v2/entities/"+id, nil, http.Header{"Authorization": {"Bearer " + tok.Token}})
	entityOf(t, st, a)
	var bad blockAnswer
	if st := callWith(t, http.MethodPost, srv.URL+"/open-apis/auth/v3/tenant_access_token/internal",
		map[string]string{"app_id": inst, "app_secret": "wrong"}, &bad, http.Header{}); st != 400 || bad.Code != 10014 {
		t.Fatalf("tenant token with a wrong secret: HTTP %d %+v", st, bad)
	}
}
