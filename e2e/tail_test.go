package e2e

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"testing"
	"time"
)

// tailLine is one line `opsync tail` prints.
type tailLine struct {
	BizType       string `json:"bizType"`
	OplogID       uint64 `json:"oplogId"`
	ThirdMsgID    string `json:"thirdMsgId"`
	Payload       string `json:"payload"`
	BinaryPayload string `json:"binaryPayload"`
	PushTime      int64  `json:"pushTime"`
}

// tailProc is a running `opsync tail`.
type tailProc struct {
	cmd    *exec.Cmd
	lines  chan tailLine
	done   chan error
	stderr *lockedBuffer
}

// startTail runs `opsync tail` with args after the server and instance.
func startTail(t *testing.T, base, instance string, args ...string) *tailProc {
	t.Helper()
	full := append([]string{"tail", "--server", base, "--instance", instance}, args...)
	cmd := exec.Command(opsyncBin, full...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &tailProc{cmd: cmd, lines: make(chan tailLine, 100000), done: make(chan error, 1), stderr: &lockedBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var l tailLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Errorf("tail printed a line that is not JSON: %q", sc.Text())
				continue
			}
			p.lines <- l
		}
	}()
	go func() {
		<-scanned
		p.done <- cmd.Wait()
		close(p.lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("tail stderr:\n%s", p.stderr.String())
		}
	})
	return p
}

// collect reads every line until tail exits (it must, with --count) and
// checks it exited 0.
func (p *tailProc) collect(t *testing.T, timeout time.Duration) []tailLine {
	t.Helper()
	var out []tailLine
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				if err := <-p.done; err != nil {
					t.Fatalf("tail exited with %v after %d lines:\n%s", err, len(out), p.stderr.String())
				}
				return out
			}
			out = append(out, l)
		case <-deadline:
			t.Fatalf("tail still running after %v with %d lines", timeout, len(out))
		}
	}
}
