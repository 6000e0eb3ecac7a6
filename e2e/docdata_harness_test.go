package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/opsync/opsync/internal/docrest"
)

// docEnv is an environment (instance) with its REST API secret, as a
// backend calls the documents REST API.
type docEnv struct {
	t      *testing.T
	base   string
	env    string
	secret string
}

// newDocEnv creates the instance and issues its REST API secret.
func newDocEnv(t *testing.T, base, env string) *docEnv {
	t.Helper()
	ensureInstance(t, base, env)
	var ans struct {
		Secret       string `json:"secret"`
		SecretPrefix string `json:"secret_prefix"`
	}
	if st := call(t, http.MethodPost, base+"/api/v1/instances/"+env+"/doc/secret", nil, &ans); st != http.StatusOK || ans.Secret == "" {
		t.Fatalf("issue the doc API secret of %s: HTTP %d %+v", env, st, ans)
	}
	return &docEnv{t: t, base: base, env: env, secret: ans.Secret}
}

// docAnswer is a REST answer: its status and JSON body.
type docAnswer struct {
	status int
	body   map[string]any
	raw    []byte
}

// do sends a request to /api/v5/{env}{path} signed with the secret at
// the timestamp ts (0: now).
func (e *docEnv) doAt(method, path string, body any, ts int64, secret string) docAnswer {
	e.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	if ts == 0 {
		ts = time.Now().UnixMilli()
	}
	uri := "/api/v5/" + e.env + path
	req, err := http.NewRequest(method, e.base+uri, bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	stamp := strconv.FormatInt(ts, 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(docrest.TimestampHeader, stamp)
	req.Header.Set(docrest.SignatureHeader, docrest.Sign([]byte(secret), docrest.SignedMessage(method, uri, stamp, raw)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	a := docAnswer{status: resp.StatusCode, raw: out}
	if len(out) > 0 {
		if err := json.Unmarshal(out, &a.body); err != nil {
			e.t.Fatalf("%s %s: answer %q: %v", method, uri, out, err)
		}
	}
	return a
}

func (e *docEnv) do(method, path string, body any) docAnswer {
	e.t.Helper()
	return e.doAt(method, path, body, 0, e.secret)
}

// must is do expecting status.
func (e *docEnv) must(status int, method, path string, body any) map[string]any {
	e.t.Helper()
	a := e.do(method, path, body)
	if a.status != status {
		e.t.Fatalf("%s %s: HTTP %d %s, want %d", method, path, a.status, a.raw, status)
	}
	return a.body
}

// docIDs are the ids of a list answer's data, in order.
func docIDs(t *testing.T, list map[string]any) []string {
	t.Helper()
	data, ok := list["data"].([]any)
	if !ok {
		t.Fatalf("a list answers no data: %v", list)
	}
	out := []string{}
	for _, d := range data {
		out = append(out, d.(map[string]any)["id"].(string))
	}
	return out
}
