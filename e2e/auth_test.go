package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsync/opsync/client"
	"github.com/opsync/opsync/internal/auth"
)

// instanceAnswer is the admin API's instance answer.
type instanceAnswer struct {
	Instance struct {
		InstanceID         string `json:"instanceId"`
		APIKey             string `json:"apiKey"`
		ClientSecret       string `json:"clientSecret"`
		APIKeyPrefix       string `json:"apiKeyPrefix"`
		ClientSecretPrefix string `json:"clientSecretPrefix"`
		CreatedAt          int64  `json:"createdAt"`
		KeysRotatedAt      int64  `json:"keysRotatedAt"`
		Settings           struct {
			RequireToken   bool   `json:"requireToken"`
			ValidationURL  string `json:"validationUrl"`
			SignatureCheck bool   `json:"signatureCheck"`
		} `json:"settings"`
	} `json:"instance"`
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// createInstance creates an instance and returns the answer.
func createInstance(t *testing.T, base, instance string) instanceAnswer {
	t.Helper()
	var a instanceAnswer
	if st := call(t, http.MethodPost, base+"/api/v1/instances", map[string]string{"instanceId": instance}, &a); st != http.StatusCreated {
		t.Fatalf("create %s: HTTP %d %+v", instance, st, a)
	}
	rememberAPIKey(base, instance, a.Instance.APIKey)
	return a
}

// setSettings changes an instance's settings through the admin API.
func setSettings(t *testing.T, base, instance string, settings map[string]any) {
	t.Helper()
	var a map[string]any
	if st := call(t, http.MethodPatch, base+"/api/v1/instances/"+instance+"/settings", settings, &a); st != http.StatusOK {
		t.Fatalf("settings %v: HTTP %d %v", settings, st, a)
	}
}

// The admin API answers 401 without the admin token or with a wrong one;
// health, readiness and metrics stay open.
func TestAdminAPINeedsTheAdminToken(t *testing.T) {
	srv := startServer(t, t.TempDir())
	createInstance(t, srv.URL, "ws_ADMIN")
	for _, tc := range []struct{ method, path string }{
		{"POST", "/api/v1/instances"},
		{"GET", "/api/v1/instances"},
		{"GET", "/api/v1/instances/ws_ADMIN"},
		{"POST", "/api/v1/instances/ws_ADMIN/keys/rotate"},
		{"PATCH", "/api/v1/instances/ws_ADMIN/settings"},
		{"GET", "/api/v1/instances/ws_ADMIN/oplog"},
		{"GET", "/api/v1/instances/ws_ADMIN/operations"},
		{"POST", "/api/v1/instances/ws_ADMIN/push"},
		{"PUT", "/api/v1/instances/ws_ADMIN/biztypes/CHAT"},
		{"GET", "/api/v1/instances/ws_ADMIN/biztypes"},
		{"DELETE", "/api/v1/instances/ws_ADMIN/biztypes/CHAT"},
		{"GET", "/api/v1/instances/ws_ADMIN/users/u/records"},
		{"GET", "/api/v1/no/such/endpoint"},
	} {
		for name, hdr := range map[string]http.Header{
			"no token":       {},
			"wrong token":    {"Authorization": {"Bearer not-the-token"}},
			"token as basic": {"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+adminToken))}},
			"bare token":     {"Authorization": {adminToken}},
			"prefix":         {"Authorization": {"Bearer " + adminToken[:len(adminToken)-1]}},
		} {
			var e instanceAnswer
			if st := callWith(t, tc.method, srv.URL+tc.path, "{}", &e, hdr); st != http.StatusUnauthorized || e.Error.Code != "UNAUTHORIZED" {
				t.Errorf("%s %s with %s: HTTP %d %+v", tc.method, tc.path, name, st, e.Error)
			}
		}
	}
	// Nothing was created or changed by the refused calls.
	var list struct{ Instances []map[string]any }
	if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances", nil, &list); st != 200 || len(list.Instances) != 1 {
		t.Fatalf("instances after refused calls: %d %v", st, list)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if st := callWith(t, http.MethodGet, srv.URL+p, nil, nil, http.Header{}); st != 200 {
			t.Errorf("%s without a token: HTTP %d", p, st)
		}
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/metrics without a token: %v %v", err, resp)
	}
	resp.Body.Close()
}

// Instances are created by the administrator with random credentials that
// survive a restart; configs of an instance that does not exist are
// refused; rotating the keys retires the old API key at once.
func TestInstancesAndKeys(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	const inst = "ws_KEYS"

	var e instanceAnswer
	if st := call(t, http.MethodPut, srv.URL+"/api/v1/instances/"+inst+"/biztypes/CHAT", map[string]any{}, &e); st != 404 || e.Error.Code != "INSTANCE_NOT_FOUND" {
		t.Fatalf("config of a missing instance: HTTP %d %+v", st, e.Error)
	}
	if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+inst, nil, &e); st != 404 || e.Error.Code != "INSTANCE_NOT_FOUND" {
		t.Fatalf("get a missing instance: HTTP %d %+v", st, e.Error)
	}
	for _, bad := range []string{`{"instanceId":"has space"}`, `{"instanceId":""}`, `{"instanceId":"x","extra":1}`, `[1]`} {
		if st := call(t, http.MethodPost, srv.URL+"/api/v1/instances", bad, &e); st != 400 || e.Error.Code != "INVALID" {
			t.Errorf("create %s: HTTP %d %+v", bad, st, e.Error)
		}
	}
	created := createInstance(t, srv.URL, inst)
	in := created.Instance
	for _, k := range []string{in.APIKey, in.ClientSecret} {
		if b, err := base64.RawURLEncoding.DecodeString(k); err != nil || len(b) != 32 {
			t.Fatalf("key %q is not 32 bytes of base64url: %v", k, err)
		}
	}
	if in.InstanceID != inst || in.APIKey == in.ClientSecret || in.CreatedAt == 0 || in.Settings.RequireToken || !in.Settings.SignatureCheck {
		t.Fatalf("created %+v", in)
	}
	if st := call(t, http.MethodPost, srv.URL+"/api/v1/instances", map[string]string{"instanceId": inst}, &e); st != 409 || e.Error.Code != "ALREADY_EXISTS" {
		t.Fatalf("create twice: HTTP %d %+v", st, e.Error)
	}
	createInstance(t, srv.URL, "ws_OTHER")
	putBizType(t, srv.URL, inst, "CHAT", map[string]any{})
	pushOK(t, srv.URL, inst, "CHAT", "u1", "before-rotation")

	// The keys are shown once: GET shows their first characters only.
	var got instanceAnswer
	if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+inst, nil, &got); st != 200 || got.Instance.APIKey != "" || got.Instance.ClientSecret != "" ||
		got.Instance.APIKeyPrefix != in.APIKey[:6] || got.Instance.ClientSecretPrefix != in.ClientSecret[:6] || got.Instance.CreatedAt != in.CreatedAt {
		t.Fatalf("get: HTTP %d %+v", st, got.Instance)
	}
	var list struct {
		Instances []map[string]any `json:"instances"`
	}
	if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances", nil, &list); st != 200 || len(list.Instances) != 2 ||
		list.Instances[0]["instanceId"] != "ws_KEYS" || list.Instances[1]["instanceId"] != "ws_OTHER" {
		t.Fatalf("list: HTTP %d %v", st, list)
	}
	for _, i := range list.Instances {
		if _, ok := i["apiKey"]; ok {
			t.Fatalf("the list shows credentials: %v", i)
		}
		if _, ok := i["clientSecret"]; ok {
			t.Fatalf("the list shows credentials: %v", i)
		}
	}

	var rotated instanceAnswer
	if st := call(t, http.MethodPost, srv.URL+"/api/v1/instances/"+inst+"/keys/rotate", nil, &rotated); st != 200 ||
		rotated.Instance.APIKey == in.APIKey || rotated.Instance.ClientSecret == in.ClientSecret || rotated.Instance.KeysRotatedAt < in.CreatedAt {
		t.Fatalf("rotate: HTTP %d %+v", st, rotated.Instance)
	}
	rememberAPIKey(srv.URL, inst, rotated.Instance.APIKey)
	body := map[string]any{"bizType": "CHAT", "linkToken": "u1", "thirdMsgId": "after-rotation", "payload": "x"}
	var pa pushAnswer
	if st := callWith(t, http.MethodPost, srv.URL+"/webapi/sync/single?instanceId="+inst, body, &pa, http.Header{"X-Opsync-Api-Key": {in.APIKey}}); st != 200 || pa.Success || pa.Msg != "UNAUTHORIZED" {
		t.Fatalf("push with the retired key: HTTP %d %+v", st, pa)
	}
	if st := callWith(t, http.MethodPost, srv.URL+"/webapi/sync/single?instanceId="+inst, body, &pa, http.Header{"X-Opsync-Api-Key": {rotated.Instance.APIKey}}); st != 200 || pa.Msg != "SUCCESS" {
		t.Fatalf("push with the new key: HTTP %d %+v", st, pa)
	}

	// The keys, the configs and the registry are journaled.
	srv.kill9()
	srv2 := startServer(t, dir)
	if st := call(t, http.MethodGet, srv2.URL+"/api/v1/instances/"+inst, nil, &got); st != 200 || got.Instance.APIKey != "" || got.Instance.APIKeyPrefix != rotated.Instance.APIKey[:6] {
		t.Fatalf("after restart: HTTP %d %+v", st, got.Instance)
	}
	if st := call(t, http.MethodGet, srv2.URL+"/api/v1/instances", nil, &list); st != 200 || len(list.Instances) != 2 {
		t.Fatalf("list after restart: HTTP %d %v", st, list)
	}
	pushOK(t, srv2.URL, inst, "CHAT", "u1", "after-restart")
}

// The push APIs need the instance's API key in X-Opsync-Api-Key: missing,
// wrong or another instance's key answer UNAUTHORIZED; an unknown
// instance stays INSTANCE_NOT_FOUND (both HTTP 200, as every push answer).
func TestPushAPIsNeedTheInstanceKey(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_PUSHKEY"
	putBizType(t, srv.URL, inst, "CHAT", map[string]any{})
	putBizType(t, srv.URL, inst, "NEWS", map[string]any{"scope": "global"})
	other := createInstance(t, srv.URL, "ws_PUSHKEY2")
	key := apiKey(t, srv.URL, inst)
	single := map[string]any{"bizType": "CHAT", "linkToken": "u1", "thirdMsgId": "m1", "payload": "x"}
	global := map[string]any{"bizType": "NEWS", "thirdMsgId": "g1", "payload": "x"}
	batch := map[string]any{"items": []any{single}}
	apis := []struct {
		path string
		body any
	}{{"/webapi/sync/single", single}, {"/webapi/sync/global", global}, {"/webapi/sync/batch", batch}}
	for _, api := range apis {
		for name, hdr := range map[string]http.Header{
			"no key":               {},
			"wrong key":            {"X-Opsync-Api-Key": {"wrong"}},
			"empty key":            {"X-Opsync-Api-Key": {""}},
			"another's key":        {"X-Opsync-Api-Key": {other.Instance.APIKey}},
			"the client secret":    {"X-Opsync-Api-Key": {other.Instance.ClientSecret}},
			"the admin token":      {"Authorization": {"Bearer " + adminToken}},
			"key in Authorization": {"Authorization": {"Bearer " + key}},
		} {
			var raw map[string]any
			if st := callWith(t, http.MethodPost, srv.URL+api.path+"?instanceId="+inst, api.body, &raw, hdr); st != 200 || raw["success"] != false || raw["msg"] != "UNAUTHORIZED" {
				t.Errorf("%s with %s: HTTP %d %v", api.path, name, st, raw)
			}
		}
		var raw map[string]any
		if st := callWith(t, http.MethodPost, srv.URL+api.path+"?instanceId=ws_NOSUCH", api.body, &raw, http.Header{}); st != 200 || raw["msg"] != "INSTANCE_NOT_FOUND" {
			t.Errorf("%s to an unknown instance without a key: HTTP %d %v", api.path, st, raw)
		}
		if st := callWith(t, http.MethodPost, srv.URL+api.path+"?instanceId="+inst, api.body, &raw, http.Header{"X-Opsync-Api-Key": {key}}); st != 200 || raw["success"] != true {
			t.Errorf("%s with the key: HTTP %d %v", api.path, st, raw)
		}
	}
	// Refused pushes stored nothing: the one accepted single push and the
	// batch's duplicate of it are all there is of u1's own (the accepted
	// global push counts as a push to every user).
	var rec struct{ Pushes, GlobalPushes int }
	if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+inst+"/users/u1/records", nil, &rec); st != 200 || rec.Pushes != 2 || rec.GlobalPushes != 1 {
		t.Fatalf("records: HTTP %d %+v", st, rec)
	}
}

// tokenFor signs a client token with an instance's client secret.
func tokenFor(t *testing.T, secret string, c auth.Claims) string {
	t.Helper()
	if c.ExpiresAt == 0 {
		c.ExpiresAt = time.Now().Add(time.Hour).Unix()
	}
	tok, err := auth.SignHS256(c, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tryConnect connects a client (user "": device-only) and reports whether
// the server accepted it (nil) or the error that ended the attempt.
func tryConnect(t *testing.T, base, instance, user, session, device, token string, biz ...string) (*appClient, error) {
	t.Helper()
	up := make(chan struct{})
	errs := make(chan error, 10)
	var once sync.Once
	c, err := client.New(client.Options{
		Server: base, InstanceID: instance, DeviceID: device, Token: token, MinBackoff: 20 * time.Millisecond,
		OnStateChange: func(connected bool) {
			if connected {
				once.Do(func() { close(up) })
			}
		},
		OnError: func(err error) {
			select {
			case errs <- err:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ac := &appClient{Client: c, msgs: make(chan client.Message, 1000)}
	for _, b := range biz {
		if err := c.RegisterBiz(b, func(m client.Message) { ac.msgs <- m; c.ReportMsgReceived(m) }); err != nil {
			t.Fatal(err)
		}
	}
	if user != "" {
		if err := c.UpdateUserInfo(user, session); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AppToForeground(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-up:
		return ac, nil
	case err := <-errs:
		return nil, err
	case <-time.After(30 * time.Second):
		t.Fatalf("client %s neither connected nor failed", user)
		return nil, nil
	}
}

// wantUnauthorized checks that err is the fatal close 4401.
func wantUnauthorized(t *testing.T, what string, ac *appClient, err error) {
	t.Helper()
	var pe *client.ProtocolError
	if ac != nil || !errors.As(err, &pe) || pe.Code != 4401 || !client.IsFatal(err) {
		t.Errorf("%s: connected=%v err=%v, want the fatal close 4401", what, ac != nil, err)
	}
}

// Client tokens: HS256 JWTs signed with the instance's clientSecret. A
// bad, expired or mismatched token closes with 4401; with requireToken a
// token is mandatory, and a token for user X can neither connect as user
// Y nor to another instance, so a client never receives another user's
// or instance's entries whatever ids it sends.
func TestClientTokensAndIsolation(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const a, b = "ws_TOKA", "ws_TOKB"
	ia, ib := createInstance(t, srv.URL, a), createInstance(t, srv.URL, b)
	putBizType(t, srv.URL, a, "CHAT", map[string]any{"target": "user", "multiDevice": true})
	putBizType(t, srv.URL, b, "CHAT", map[string]any{"target": "user", "multiDevice": true})
	secretA, secretB := ia.Instance.ClientSecret, ib.Instance.ClientSecret
	xa := tokenFor(t, secretA, auth.Claims{Subject: "x", Instance: a})

	// Without requireToken: no token trusts the userId (as the source);
	// a token, when sent, must be right.
	if _, err := tryConnect(t, srv.URL, a, "x", "s", "d-plain", ""); err != nil {
		t.Fatalf("no token, requireToken off: %v", err)
	}
	if _, err := tryConnect(t, srv.URL, a, "x", "s", "d-token", xa); err != nil {
		t.Fatalf("a valid token: %v", err)
	}
	bad := map[string]string{
		"signed with another secret":  tokenFor(t, secretB, auth.Claims{Subject: "x", Instance: a}),
		"expired":                     tokenFor(t, secretA, auth.Claims{Subject: "x", Instance: a, ExpiresAt: time.Now().Add(-time.Minute).Unix()}),
		"for another user":            tokenFor(t, secretA, auth.Claims{Subject: "y", Instance: a}),
		"for another instance":        tokenFor(t, secretA, auth.Claims{Subject: "x", Instance: b}),
		"for another device":          tokenFor(t, secretA, auth.Claims{Subject: "x", Instance: a, Device: "other"}),
		"alg none":                    unsigned(auth.Claims{Subject: "x", Instance: a, ExpiresAt: time.Now().Add(time.Hour).Unix()}),
		"not a JWT":                   "garbage",
		"instance B's, on instance A": tokenFor(t, secretB, auth.Claims{Subject: "x", Instance: b}),
	}
	for name, tok := range bad {
		ac, err := tryConnect(t, srv.URL, a, "x", "s", "d1", tok)
		wantUnauthorized(t, name, ac, err)
	}
	if _, err := tryConnect(t, srv.URL, a, "x", "s", "d1", tokenFor(t, secretA, auth.Claims{Subject: "x", Instance: a, Device: "d1"})); err != nil {
		t.Fatalf("a token for this device: %v", err)
	}

	// With requireToken: no token, no connection.
	setSettings(t, srv.URL, a, map[string]any{"requireToken": true})
	ac, err := tryConnect(t, srv.URL, a, "x", "s", "d2", "", "CHAT")
	wantUnauthorized(t, "no token, requireToken on", ac, err)
	// The source's SDK only has userId + sessionId: a token in sessionId is
	// accepted when the instance requires one.
	if _, err := tryConnect(t, srv.URL, a, "x", xa, "d-sdk", ""); err != nil {
		t.Fatalf("token as sessionId: %v", err)
	}
	// X's token cannot connect as Y, nor to instance B.
	ac, err = tryConnect(t, srv.URL, a, "y", "s", "d3", xa, "CHAT")
	wantUnauthorized(t, "X's token as Y", ac, err)
	setSettings(t, srv.URL, b, map[string]any{"requireToken": true})
	ac, err = tryConnect(t, srv.URL, b, "x", "s", "d4", xa, "CHAT")
	wantUnauthorized(t, "A's token on B", ac, err)

	// X on A with its token receives X's entries of A only.
	pushOK(t, srv.URL, b, "CHAT", "x", "b-for-x")
	pushOK(t, srv.URL, a, "CHAT", "y", "a-for-y")
	pushOK(t, srv.URL, a, "CHAT", "x", "a-for-x")
	x, err := tryConnect(t, srv.URL, a, "x", "s", "d5", xa, "CHAT")
	if err != nil {
		t.Fatal(err)
	}
	x.expect(t, "a-for-x")
	pushOK(t, srv.URL, b, "CHAT", "x", "b-for-x-2")
	pushOK(t, srv.URL, a, "CHAT", "y", "a-for-y-2")
	pushOK(t, srv.URL, a, "CHAT", "x", "a-sentinel")
	x.expect(t, "a-sentinel")
	select {
	case m := <-x.msgs:
		t.Fatalf("X on A received %q", m.ThirdMsgID)
	case <-time.After(300 * time.Millisecond):
	}

	// Rotating the keys retires the old client secret.
	var rotated instanceAnswer
	call(t, http.MethodPost, srv.URL+"/api/v1/instances/"+a+"/keys/rotate", nil, &rotated)
	rememberAPIKey(srv.URL, a, rotated.Instance.APIKey)
	ac, err = tryConnect(t, srv.URL, a, "x", "s", "d6", xa)
	wantUnauthorized(t, "a token signed with the retired secret", ac, err)
	if _, err := tryConnect(t, srv.URL, a, "x", "s", "d7", tokenFor(t, rotated.Instance.ClientSecret, auth.Claims{Subject: "x", Instance: a})); err != nil {
		t.Fatalf("a token signed with the new secret: %v", err)
	}
}

// unsigned builds an "alg":"none" token.
func unsigned(c auth.Claims) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	p, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// Without --admin-token (nor OPSYNC_ADMIN_TOKEN) serve generates a token
// once, keeps it in the data directory (0600), names the file in its
// listening line (never the token) and reuses it; the CLI finds it with
// --data.
func TestGeneratedAdminTokenFile(t *testing.T) {
	dir := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPSYNC_ADMIN_TOKEN=") {
			env = append(env, kv)
		}
	}
	srv := startServerEnv(t, dir, env)
	file := srv.Listening["adminTokenFile"]
	if file != filepath.Join(dir, "admin-token") {
		t.Fatalf("listening line %v: adminTokenFile %q", srv.Listening, file)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	raw, _ := os.ReadFile(file)
	token := strings.TrimSpace(string(raw))
	if len(token) < 40 {
		t.Fatalf("token %q", token)
	}
	for _, v := range srv.Listening {
		if strings.Contains(v, token) {
			t.Fatal("the listening line shows the token")
		}
	}
	if strings.Contains(srv.stderr.String(), token) {
		t.Fatal("the log shows the token")
	}
	use := func(s *server, tok string) int {
		var a map[string]any
		return callWith(t, http.MethodGet, s.URL+"/api/v1/instances", nil, &a, http.Header{"Authorization": {"Bearer " + tok}})
	}
	if st := use(srv, token); st != 200 {
		t.Fatalf("the generated token: HTTP %d", st)
	}
	if st := use(srv, adminToken); st != 401 {
		t.Fatalf("another token: HTTP %d", st)
	}
	cli := func(args ...string) (string, string, int) {
		cmd := exec.Command(opsyncBin, args...)
		cmd.Env = env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if err != nil {
			code = cmd.ProcessState.ExitCode()
		}
		return out.String(), errb.String(), code
	}
	if out, errOut, code := cli("instance", "create", "--server", srv.URL, "--data", dir, "--instance", "ws_GEN"); code != 0 || !strings.Contains(out, `"apiKey"`) {
		t.Fatalf("instance create with --data: exit %d %s %s", code, out, errOut)
	}
	if _, errOut, code := cli("instance", "list", "--server", srv.URL, "--data", t.TempDir()); code != 1 || !strings.Contains(errOut, "401") {
		t.Fatalf("instance list without a token: exit %d %s", code, errOut)
	}
	srv.kill()
	srv2 := startServerEnv(t, dir, env)
	if st := use(srv2, token); st != 200 || srv2.Listening["adminTokenFile"] != file {
		t.Fatalf("after restart: HTTP %d, %v", st, srv2.Listening)
	}
	// A token given on the command line replaces the file's.
	srv2.kill()
	srv3 := startServerEnv(t, dir, env, "--admin-token", "given-token")
	if _, ok := srv3.Listening["adminTokenFile"]; ok {
		t.Fatalf("listening line names a token file with --admin-token: %v", srv3.Listening)
	}
	if use(srv3, "given-token") != 200 || use(srv3, token) != 401 {
		t.Fatal("--admin-token not used")
	}
}
