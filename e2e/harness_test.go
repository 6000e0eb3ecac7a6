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

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "opsync-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	opsyncBin = filepath.Join(dir, "opsync")
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
	stderr  *lockedBuffer
	exited  chan struct{}
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
	args := append([]string{"serve", "--data", dataDir, "--http", "127.0.0.1:0"}, extra...)
	cmd := exec.Command(opsyncBin, args...)
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
		var l struct{ Event, URL string }
		if err := json.Unmarshal([]byte(line), &l); err != nil || l.Event != "listening" {
			t.Fatalf("unexpected first line from serve: %q", line)
		}
		s.URL = l.URL
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

func (s *server) kill() {
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
	}
}

// call sends a JSON request and decodes the JSON answer into out.
func call(t *testing.T, method, u string, body any, out any) int {
	t.Helper()
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
				t.Fatal(err)
			}
			rd = bytes.NewReader(j)
		}
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q, body %q", method, u, ct, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: answer %q: %v", method, u, raw, err)
		}
	}
	return resp.StatusCode
}

// putBizType creates a bizType config through the admin API.
func putBizType(t *testing.T, base, instance, biz string, cfg map[string]any) {
	t.Helper()
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
