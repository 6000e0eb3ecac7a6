package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// opsyncBin is the binary built once for all tests.
var opsyncBin string

// adminToken is the admin token of every server the tests start (through
// OPSYNC_ADMIN_TOKEN, which the CLI commands the tests run read too).
const adminToken = "e2e-admin-token"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "opsync-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	opsyncBin = filepath.Join(dir, "opsync")
	os.Setenv("OPSYNC_ADMIN_TOKEN", adminToken)
	build := exec.Command("go", "build", "-o", opsyncBin, "github.com/opsync/opsync/cmd/opsync")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building opsync:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is an `opsync serve` process.
type server struct {
	t       *testing.T
	cmd     *exec.Cmd
	URL     string
	DataDir string
	// Listening is the JSON line serve printed when it listened.
	Listening map[string]string
	stderr    *lockedBuffer
	exited    chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServer runs `opsync serve` on dataDir and waits for its listening
// line.
func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	return startServerEnv(t, dataDir, nil, extra...)
}

// startServerEnv is startServer with the environment env (nil: the
// tests' own, which holds OPSYNC_ADMIN_TOKEN).
func startServerEnv(t *testing.T, dataDir string, env []string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--data", dataDir, "--http", "127.0.0.1:0"}, extra...)
	return launch(t, dataDir, env, append([]string{opsyncBin}, args...))
}

// launch runs argv (an `opsync serve` command line, maybe behind a
// wrapper such as `ip netns exec`) and waits for serve's listening line.
func launch(t *testing.T, dataDir string, env []string, argv []string) *server {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, DataDir: dataDir, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("server stderr:\n%s", s.stderr.String())
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case line := <-lines:
		if err := json.Unmarshal([]byte(line), &s.Listening); err != nil || s.Listening["event"] != "listening" {
			t.Fatalf("unexpected first line from serve: %q", line)
		}
		s.URL = s.Listening["url"]
		serverStores.Store(s.URL, dataDir)
	case <-s.exited:
		t.Fatalf("serve exited before listening:\n%s", s.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not listen within 60s:\n%s", s.stderr.String())
	}
	return s
}

// kill9 kills the server with SIGKILL and waits until it is gone.
func (s *server) kill9() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatalf("kill -9: %v", err)
	}
	<-s.exited
}

// stop stops the server with SIGTERM (a graceful close) and waits until
// it is gone.
func (s *server) stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.t.Fatal("serve did not stop within 30s of SIGTERM")
	}
}

func (s *server) kill() {
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
	}
}

// call sends a JSON request and decodes the JSON answer into out. It
// authenticates as the tests' administrator and pusher: the admin token
// on the admin API, the instance's API key on the push APIs.
func call(t *testing.T, method, u string, body any, out any) int {
	t.Helper()
	return callWith(t, method, u, body, out, nil)
}

// callWith is call with exactly the headers hdr (nil: call's credentials).
func callWith(t *testing.T, method, u string, body any, out any, hdr http.Header) int {
	t.Helper()
	st, err := tryCall(t, method, u, body, out, hdr)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// tryCall is callWith answering its failure instead of failing the test,
// for goroutines other than the test's (t.Fatal must not be called from
// them): it uses t only to find the credentials.
func tryCall(t *testing.T, method, u string, body any, out any, hdr http.Header) (int, error) {
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		case []byte:
			rd = bytes.NewReader(b)
		default:
			j, err := json.Marshal(body)
			if err != nil {
				return 0, err
			}
			rd = bytes.NewReader(j)
		}
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if hdr == nil {
		authorize(t, req)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return 0, fmt.Errorf("%s %s: Content-Type %q, body %q", method, u, ct, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return 0, fmt.Errorf("%s %s: answer %q: %v", method, u, raw, err)
		}
	}
	return resp.StatusCode, nil
}

// putBizType creates a bizType config through the admin API, and the
// instance first when it does not exist.
func putBizType(t *testing.T, base, instance, biz string, cfg map[string]any) {
	t.Helper()
	ensureInstance(t, base, instance)
	var ans map[string]any
	u := fmt.Sprintf("%s/api/v1/instances/%s/biztypes/%s", base, url.PathEscape(instance), biz)
	if st := call(t, http.MethodPut, u, cfg, &ans); st != http.StatusOK {
		t.Fatalf("PUT %s: %d %v", u, st, ans)
	}
}

// pushAnswer is the push API's answer.
type pushAnswer struct {
	Success bool   `json:"success"`
	Msg     string `json:"msg"`
	OplogID uint64 `json:"oplogId"`
	Detail  string `json:"detail"`
}

func push(t *testing.T, base, instance string, body any) (int, pushAnswer) {
	t.Helper()
	var ans pushAnswer
	st := call(t, http.MethodPost, base+"/webapi/sync/single?instanceId="+url.QueryEscape(instance), body, &ans)
	return st, ans
}

// apiKeys caches instances' API keys by the data they live in (see
// storeOf) and instance. The admin API shows a key only when it creates
// or rotates it: the tests remember it then.
var apiKeys sync.Map

// serverStores maps a server's base URL to the data it serves: its data
// directory, or for a node set the set's, so that a key learnt through one
// node or before a restart (on a new port) is known through the others.
var serverStores sync.Map

// storeOf is the data base serves (base itself for a server the harness
// did not start).
func storeOf(base string) string {
	if s, ok := serverStores.Load(base); ok {
		return s.(string)
	}
	return base
}

// ensureInstance creates an instance (as the administrator) unless it
// exists, and remembers its API key.
func ensureInstance(t *testing.T, base, instance string) {
	t.Helper()
	if _, ok := apiKeys.Load(storeOf(base) + "|" + instance); ok {
		return
	}
	var ans struct {
		Instance struct {
			APIKey string `json:"apiKey"`
		} `json:"instance"`
	}
	switch st := call(t, http.MethodPost, base+"/api/v1/instances", map[string]string{"instanceId": instance}, &ans); st {
	case http.StatusCreated:
		rememberAPIKey(base, instance, ans.Instance.APIKey)
	case http.StatusConflict:
	default:
		t.Fatalf("create instance %s: HTTP %d", instance, st)
	}
}

// apiKey returns an instance's API key as the tests learnt it when they
// created or rotated it, "" when they did not.
func apiKey(t *testing.T, base, instance string) string {
	t.Helper()
	if k, ok := apiKeys.Load(storeOf(base) + "|" + instance); ok {
		return k.(string)
	}
	return ""
}

// rememberAPIKey keeps the key a creation or a rotation answered.
func rememberAPIKey(base, instance, key string) { apiKeys.Store(storeOf(base)+"|"+instance, key) }

// authorize adds the tests' credentials to a request: the admin token on
// the admin API, the instance's API key on the push APIs.
func authorize(t *testing.T, req *http.Request) {
	t.Helper()
	switch p := req.URL.Path; {
	case strings.HasPrefix(p, "/api/v1/"):
		req.Header.Set("Authorization", "Bearer "+adminToken)
	case strings.HasPrefix(p, "/webapi/sync/"):
		if inst := req.URL.Query().Get("instanceId"); inst != "" && edgeInstanceID(inst) {
			if k := apiKey(t, req.URL.Scheme+"://"+req.URL.Host, inst); k != "" {
				req.Header.Set("X-Opsync-Api-Key", k)
			}
		}
	}
}

// edgeInstanceID reports whether s can name an instance (so that tests of
// malformed ids do not look them up).
func edgeInstanceID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
