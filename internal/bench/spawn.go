package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// SpawnOptions describe an `opsync serve` process to start.
type SpawnOptions struct {
	// Binary is the opsync executable.
	Binary string
	// DataDir is the node's data directory.
	DataDir string
	// HTTPAddr is the listen address; default 127.0.0.1:0.
	HTTPAddr string
	// Args are further serve flags.
	Args []string
	// AdminToken is the node's admin token (given through its
	// environment, not its command line).
	AdminToken string
	// Stderr, if set, receives the process's stderr as well.
	Stderr io.Writer
	// ListenTimeout bounds the wait for the listening line (default 2 min:
	// a node may replay a large journal's WAL first).
	ListenTimeout time.Duration
	// Wrapper, if set, is the command that runs the binary (e.g. "ip
	// netns exec NS"); it must exec it in place so that the PID is the
	// node's.
	Wrapper []string
}

// Server is a spawned `opsync serve` process (or a peer server, see
// SpawnPeer).
type Server struct {
	URL     string // http://127.0.0.1:PORT
	Addr    string // 127.0.0.1:PORT
	PID     int
	DataDir string
	// Started is when the process was started, Listening when its
	// listening line arrived.
	Started, Listening time.Time

	cmd    *exec.Cmd
	exited chan struct{}
	stderr *tailWriter
}

// Spawn starts `opsync serve` and waits for its listening line.
func Spawn(ctx context.Context, o SpawnOptions) (*Server, error) {
	if o.Binary == "" {
		return nil, errors.New("bench: no opsync binary to spawn")
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = "127.0.0.1:0"
	}
	if o.ListenTimeout <= 0 {
		o.ListenTimeout = 2 * time.Minute
	}
	args := append([]string{"serve", "--data", o.DataDir, "--http", o.HTTPAddr, "--log-level", "warn"}, o.Args...)
	var env []string
	if o.AdminToken != "" {
		env = append(env, "OPSYNC_ADMIN_TOKEN="+o.AdminToken)
	}
	bin := o.Binary
	if len(o.Wrapper) > 0 {
		bin, args = o.Wrapper[0], append(append(append([]string{}, o.Wrapper[1:]...), o.Binary), args...)
	}
	s, err := startProcess(ctx, bin, args, env, o.Stderr, o.ListenTimeout, func(line string) (string, string, bool) {
		var l struct{ Event, HTTP, URL string }
		if json.Unmarshal([]byte(line), &l) != nil || l.Event != "listening" {
			return "", "", false
		}
		return l.URL, l.HTTP, true
	})
	if err != nil {
		return nil, err
	}
	s.DataDir = o.DataDir
	return s, nil
}

// startProcess starts bin with args (and env added to this process's
// environment) and waits up to timeout for its first line on stdout, which
// listening turns into the server's URL and address (ok false: not a
// listening line).
func startProcess(ctx context.Context, bin string, args, env []string, stderr io.Writer, timeout time.Duration, listening func(line string) (url, addr string, ok bool)) (*Server, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	// The server dies with the bench, however the bench ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &Server{cmd: cmd, exited: make(chan struct{}), stderr: &tailWriter{max: 64 << 10}}
	cmd.Stderr = s.stderr
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(s.stderr, stderr)
	}
	s.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting %s: %w", bin, err)
	}
	s.PID = cmd.Process.Pid
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() { // drain stdout until the process ends
			if first {
				lines <- sc.Text()
				first = false
			}
		}
		close(lines)
	}()
	go func() { _ = cmd.Wait(); close(s.exited) }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case line, ok := <-lines:
		u, a, lok := "", "", false
		if ok {
			u, a, lok = listening(line)
		}
		if !lok {
			s.Kill()
			return nil, fmt.Errorf("bench: %s did not print its listening line (got %q): %s", filepath.Base(bin), line, s.StderrTail())
		}
		s.Listening, s.URL, s.Addr = time.Now(), u, a
		return s, nil
	case <-timer.C:
		s.Kill()
		return nil, fmt.Errorf("bench: %s did not listen within %s: %s", filepath.Base(bin), timeout, s.StderrTail())
	case <-ctx.Done():
		s.Kill()
		return nil, ctx.Err()
	}
}

// Kill sends SIGKILL (kill -9) and waits until the process is gone.
func (s *Server) Kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// Stop asks the node to stop (SIGTERM) and waits up to timeout, then kills
// it. It reports whether the node stopped by itself.
func (s *Server) Stop(timeout time.Duration) bool {
	select {
	case <-s.exited:
		return true
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-s.exited:
		return true
	case <-t.C:
		s.Kill()
		return false
	}
}

// Exited is closed once the process has ended.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// RSS is the process's resident set size in bytes.
func (s *Server) RSS() (int64, error) { return processRSS(s.PID) }

// StderrTail is the end of what the process wrote to stderr.
func (s *Server) StderrTail() string { return strings.TrimSpace(s.stderr.String()) }

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// executable is the default opsync binary: this one.
func executable() string {
	p, err := os.Executable()
	if err != nil {
		return ""
	}
	return p
}
