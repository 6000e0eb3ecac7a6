package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opsync/opsync/internal/node"
)

// runTail runs in-process against a real node.

const (
	tailInst       = "ws_TAIL"
	tailAdminToken = "tail-test-admin-token"
)

// tailAPIKeys caches the instance's API key by node URL.
var tailAPIKeys sync.Map

// tailAPIKey returns tailInst's API key on n, creating the instance first
// (the admin API shows the key only when it makes it).
func tailAPIKey(t *testing.T, n *node.Node) string {
	t.Helper()
	if k, ok := tailAPIKeys.Load(n.HTTPURL()); ok {
		return k.(string)
	}
	admin := withAdminToken(tailAdminToken)
	st, raw, err := callJSON(http.MethodPost, n.HTTPURL()+"/api/v1/instances", map[string]string{"instanceId": tailInst}, admin)
	var ans struct {
		Instance struct {
			APIKey string `json:"apiKey"`
		} `json:"instance"`
	}
	if err != nil || st != http.StatusCreated || json.Unmarshal(raw, &ans) != nil {
		t.Fatalf("create instance: %d %s %v", st, raw, err)
	}
	tailAPIKeys.Store(n.HTTPURL(), ans.Instance.APIKey)
	return ans.Instance.APIKey
}

func tailNode(t *testing.T) *node.Node {
	t.Helper()
	n, err := node.Start(context.Background(), node.Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", AdminToken: tailAdminToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func tailPutBiz(t *testing.T, n *node.Node, biz, target string) {
	t.Helper()
	tailAPIKey(t, n)
	st, raw, err := callJSON(http.MethodPut, n.HTTPURL()+"/api/v1/instances/"+tailInst+"/biztypes/"+biz, map[string]any{"target": target}, withAdminToken(tailAdminToken))
	if err != nil || st != http.StatusOK {
		t.Fatalf("put bizType %s: %d %s %v", biz, st, raw, err)
	}
}

// tailPush pushes one entry and returns its oplog id.
func tailPush(t *testing.T, n *node.Node, body map[string]any) uint64 {
	t.Helper()
	st, raw, err := callJSON(http.MethodPost, n.HTTPURL()+"/webapi/sync/single?instanceId="+tailInst, body, withAPIKey(tailAPIKey(t, n)))
	var ans struct {
		Msg     string `json:"msg"`
		OplogID uint64 `json:"oplogId"`
	}
	if err != nil || st != http.StatusOK || json.Unmarshal(raw, &ans) != nil || ans.Msg != "SUCCESS" {
		t.Fatalf("push %v: %d %s %v", body, st, raw, err)
	}
	return ans.OplogID
}

func tailText(t *testing.T, n *node.Node, biz, linkToken, msgID string) uint64 {
	t.Helper()
	return tailPush(t, n, map[string]any{"bizType": biz, "linkToken": linkToken, "thirdMsgId": msgID, "payload": "payload " + msgID})
}

// printedLine is one line of tail's output, as a script reads it.
type printedLine struct {
	BizType       string  `json:"bizType"`
	OplogID       uint64  `json:"oplogId"`
	ThirdMsgID    string  `json:"thirdMsgId"`
	Payload       *string `json:"payload"`
	BinaryPayload *string `json:"binaryPayload"`
	PushTime      int64   `json:"pushTime"`
}

// runTailCapture runs tail to its end and parses its output.
func runTailCapture(t *testing.T, n *node.Node, args ...string) (code int, lines []printedLine, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- runTail(append([]string{"--server", n.HTTPURL(), "--instance", tailInst}, args...), &out, &errOut)
	}()
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("tail %v still running after 30s", args)
	}
	for _, raw := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if raw == "" {
			continue
		}
		var l printedLine
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("tail printed a line that is not JSON: %q", raw)
		}
		lines = append(lines, l)
	}
	return code, lines, errOut.String()
}

func msgIDs(lines []printedLine) []string {
	var ids []string
	for _, l := range lines {
		ids = append(ids, l.ThirdMsgID)
	}
	return ids
}

func TestTailPrintsAcknowledgesAndResumes(t *testing.T) {
	n := tailNode(t)
	tailPutBiz(t, n, "NEWS", "user")
	state := filepath.Join(t.TempDir(), "state.json")
	bin := []byte{0, 0xff, 'x', '\n'}
	ids := []uint64{
		tailText(t, n, "NEWS", "u1", "m0"),
		tailPush(t, n, map[string]any{"bizType": "NEWS", "linkToken": "u1", "thirdMsgId": "b0", "binaryPayload": base64.StdEncoding.EncodeToString(bin)}),
		tailText(t, n, "NEWS", "u1", "m1"),
	}
	start := time.Now().Add(-time.Second).UnixMilli()

	// --count 2 of three: exactly two printed and acknowledged.
	code, lines, stderr := runTailCapture(t, n, "--user", "u1", "--device", "phone", "--biz", "NEWS", "--state", state, "--count", "2")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("exit %d with %d lines, want 0 and 2; stderr:\n%s", code, len(lines), stderr)
	}
	if l := lines[0]; l.BizType != "NEWS" || l.OplogID != ids[0] || l.ThirdMsgID != "m0" || l.Payload == nil || *l.Payload != "payload m0" || l.BinaryPayload != nil || l.PushTime < start {
		t.Fatalf("text line %+v", l)
	}
	if l := lines[1]; l.OplogID != ids[1] || l.Payload != nil || l.BinaryPayload == nil || *l.BinaryPayload != base64.StdEncoding.EncodeToString(bin) {
		t.Fatalf("binary line %+v, want binaryPayload %q and no payload", l, base64.StdEncoding.EncodeToString(bin))
	}
	var saved struct {
		DeviceID   string            `json:"deviceId"`
		SyncPoints map[string]uint64 `json:"syncPoints"`
	}
	raw, _ := os.ReadFile(state)
	if err := json.Unmarshal(raw, &saved); err != nil || saved.DeviceID != "phone" || saved.SyncPoints["NEWS"] != ids[1] {
		t.Fatalf("state file %s: want device phone and NEWS at %d", raw, ids[1])
	}

	// The next run resumes: the third (not acknowledged) and a new one.
	tailText(t, n, "NEWS", "u1", "m2")
	code, lines, stderr = runTailCapture(t, n, "--user", "u1", "--biz", "NEWS", "--state", state, "--count", "2")
	if code != 0 || strings.Join(msgIDs(lines), ",") != "m1,m2" {
		t.Fatalf("resumed run: exit %d, messages %v; want m1,m2; stderr:\n%s", code, msgIDs(lines), stderr)
	}
}

// Without --device, the device id comes from the state file, else it is
// random (and kept there).
func TestTailDeviceID(t *testing.T) {
	n := tailNode(t)
	tailPutBiz(t, n, "NEWS", "user")
	tailPutBiz(t, n, "CMD", "device")
	state := filepath.Join(t.TempDir(), "state.json")
	tailText(t, n, "NEWS", "u2", "n0")
	if code, lines, stderr := runTailCapture(t, n, "--user", "u2", "--biz", "NEWS", "--state", state, "--count", "1"); code != 0 || len(lines) != 1 {
		t.Fatalf("exit %d, %d lines; stderr:\n%s", code, len(lines), stderr)
	}
	var saved struct {
		DeviceID string `json:"deviceId"`
	}
	raw, _ := os.ReadFile(state)
	if json.Unmarshal(raw, &saved); saved.DeviceID == "" {
		t.Fatalf("no device id kept in %s", raw)
	}
	// A push to that device reaches the next run with the same state.
	tailText(t, n, "CMD", saved.DeviceID, "d0")
	if code, lines, stderr := runTailCapture(t, n, "--user", "u2", "--biz", "CMD", "--state", state, "--count", "1"); code != 0 || len(lines) != 1 || lines[0].ThirdMsgID != "d0" {
		t.Fatalf("exit %d, lines %v; stderr:\n%s", code, msgIDs(lines), stderr)
	}
}

// SIGTERM ends tail with 0, the sync point of what it printed saved.
func TestTailStopsOnSignalSavingState(t *testing.T) {
	n := tailNode(t)
	tailPutBiz(t, n, "NEWS", "user")
	state := filepath.Join(t.TempDir(), "state.json")
	id := tailText(t, n, "NEWS", "u3", "s0")

	pr, pw := io.Pipe()
	var errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- runTail([]string{"--server", n.HTTPURL(), "--instance", tailInst, "--user", "u3", "--biz", "NEWS", "--state", state}, pw, &errOut)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() || !strings.Contains(sc.Text(), `"thirdMsgId":"s0"`) {
		t.Fatalf("first line %q", sc.Text())
	}
	go io.Copy(io.Discard, pr)
	// The line is printed, so tail's signal handler is installed.
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after SIGTERM; stderr:\n%s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("tail did not stop on SIGTERM")
	}
	raw, _ := os.ReadFile(state)
	if !strings.Contains(string(raw), fmt.Sprintf(`"NEWS":%d`, id)) {
		t.Fatalf("state after SIGTERM %s, want NEWS at %d", raw, id)
	}
}

func TestTailFatalErrorExits1(t *testing.T) {
	n := tailNode(t)
	code, lines, stderr := runTailCapture(t, n, "--user", "u", "--biz", "NEWS", "--instance", "ws_NOSUCH")
	if code != 1 || len(lines) != 0 || !strings.Contains(stderr, "4404") {
		t.Fatalf("unknown instance: exit %d, %d lines, stderr %q; want 1 and a 4404 message", code, len(lines), stderr)
	}
}

func TestTailUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runTail([]string{"--help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "usage: opsync tail") || !strings.Contains(out.String(), "-biz") {
		t.Fatalf("--help: exit %d, stdout %q", code, out.String())
	}
	for _, args := range [][]string{
		{"--instance", "ws_A", "--user", "u"},                        // no --biz
		{"--user", "u", "--biz", "NEWS"},                             // no --instance
		{"--instance", "ws_A", "--user", "u", "--biz", "bad.biz"},    // invalid bizType
		{"--instance", "ws_A", "--user", "u", "--biz", "A", "extra"}, // stray argument
		{"--instance", "ws_A", "--user", "u", "--biz", "A", "--count", "-1"},
		{"--no-such-flag"},
	} {
		out.Reset()
		errOut.Reset()
		if code := runTail(args, &out, &errOut); code != 2 || errOut.Len() == 0 || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want 2 with a message on stderr", args, code, errOut.String(), out.String())
		}
	}
}
