package client_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsync/opsync/client"
	"github.com/opsync/opsync/internal/node"
)

// These tests run the client against a real node in the same process.

const (
	inst       = "ws_CLIENT"
	waitFor    = 20 * time.Second // how long an awaited event may take
	adminToken = "client-test-admin-token"
)

func startNode(t *testing.T, dir, addr string) *node.Node {
	t.Helper()
	n, err := node.Start(context.Background(), node.Config{DataDir: dir, HTTPAddr: addr, AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// newNode starts a node on a fresh directory, closed when the test ends.
func newNode(t *testing.T) *node.Node {
	t.Helper()
	n := startNode(t, t.TempDir(), "127.0.0.1:0")
	t.Cleanup(func() { n.Close() })
	return n
}

// httpJSON calls the API with the admin token (admin API) or hdr.
func httpJSON(t *testing.T, method, u string, body, out any, hdr ...string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, u, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: HTTP %d", method, u, resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// putBiz creates a bizType (and the instance) with target user or device.
func putBiz(t *testing.T, n *node.Node, biz, target string) {
	t.Helper()
	apiKeyOf(t, n)
	httpJSON(t, http.MethodPut, fmt.Sprintf("%s/api/v1/instances/%s/biztypes/%s", n.HTTPURL(), inst, biz), map[string]any{"target": target}, nil)
}

// push pushes one entry and returns its oplog id. body holds bizType,
// linkToken, thirdMsgId and payload or binaryPayload.
func push(t *testing.T, n *node.Node, body map[string]any) uint64 {
	t.Helper()
	var ans struct {
		Success bool   `json:"success"`
		Msg     string `json:"msg"`
		OplogID uint64 `json:"oplogId"`
	}
	httpJSON(t, http.MethodPost, n.HTTPURL()+"/webapi/sync/single?instanceId="+url.QueryEscape(inst), body, &ans, "X-Opsync-Api-Key", apiKeyOf(t, n))
	if !ans.Success || ans.Msg != "SUCCESS" {
		t.Fatalf("push %v: %+v", body, ans)
	}
	return ans.OplogID
}

// apiKeys caches the instance's API key by node URL.
var apiKeys sync.Map

// apiKeyOf returns the API key of inst on n, creating inst when it does
// not exist.
func apiKeyOf(t *testing.T, n *node.Node) string {
	t.Helper()
	if k, ok := apiKeys.Load(n.HTTPURL()); ok {
		return k.(string)
	}
	// The key is shown once, by the creation or a rotation: an instance
	// that exists already (a node restarted on its data) gets new keys.
	var ans struct {
		Instance struct {
			APIKey string `json:"apiKey"`
		} `json:"instance"`
	}
	b, _ := json.Marshal(map[string]string{"instanceId": inst})
	req, _ := http.NewRequest(http.MethodPost, n.HTTPURL()+"/api/v1/instances", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated:
		if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
			t.Fatal(err)
		}
	case http.StatusConflict:
		httpJSON(t, http.MethodPost, n.HTTPURL()+"/api/v1/instances/"+inst+"/keys/rotate", nil, &ans)
	default:
		t.Fatalf("create instance: HTTP %d", resp.StatusCode)
	}
	if ans.Instance.APIKey == "" {
		t.Fatal("no API key in the answer")
	}
	apiKeys.Store(n.HTTPURL(), ans.Instance.APIKey)
	return ans.Instance.APIKey
}

func pushText(t *testing.T, n *node.Node, biz, linkToken, msgID string) uint64 {
	t.Helper()
	return push(t, n, map[string]any{"bizType": biz, "linkToken": linkToken, "thirdMsgId": msgID, "payload": "payload of " + msgID})
}

// testClient is a client whose callbacks feed channels.
type testClient struct {
	*client.Client
	msgs   chan client.Message
	states chan bool
	errs   chan error
}

func newClient(t *testing.T, n *node.Node, opts client.Options) *testClient {
	t.Helper()
	tc := &testClient{msgs: make(chan client.Message, 1000), states: make(chan bool, 100), errs: make(chan error, 100)}
	if opts.Server == "" {
		opts.Server = n.HTTPURL()
	}
	if opts.InstanceID == "" {
		opts.InstanceID = inst
	}
	opts.MinBackoff, opts.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	opts.OnStateChange = func(up bool) { tc.states <- up }
	opts.OnError = func(err error) {
		select {
		case tc.errs <- err:
		default:
		}
	}
	c, err := client.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	tc.Client = c
	t.Cleanup(func() { c.Close() })
	return tc
}

// register registers bizTypes whose messages go to tc.msgs.
func (tc *testClient) register(t *testing.T, bizTypes ...string) {
	t.Helper()
	for _, b := range bizTypes {
		if err := tc.RegisterBiz(b, func(m client.Message) { tc.msgs <- m }); err != nil {
			t.Fatal(err)
		}
	}
}

// connect sets the user, comes to the foreground and waits until connected.
func (tc *testClient) connect(t *testing.T, user string) {
	t.Helper()
	if err := tc.UpdateUserInfo(user, "session-"+user); err != nil {
		t.Fatal(err)
	}
	if err := tc.AppToForeground(); err != nil {
		t.Fatal(err)
	}
	tc.awaitState(t, true)
}

func (tc *testClient) awaitState(t *testing.T, want bool) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case up := <-tc.states:
			if up == want {
				return
			}
		case <-deadline:
			t.Fatalf("connected never became %v; last errors: %v", want, drain(tc.errs))
		}
	}
}

// next returns the next delivered message.
func (tc *testClient) next(t *testing.T) client.Message {
	t.Helper()
	select {
	case m := <-tc.msgs:
		return m
	case <-time.After(waitFor):
		t.Fatalf("no message within %v; errors: %v", waitFor, drain(tc.errs))
		return client.Message{}
	}
}

// expect receives len(msgIDs) messages and checks their thirdMsgIds, in order.
func (tc *testClient) expect(t *testing.T, msgIDs ...string) []client.Message {
	t.Helper()
	var out []client.Message
	for _, id := range msgIDs {
		m := tc.next(t)
		if m.ThirdMsgID != id {
			t.Fatalf("got message %q (oplog %d) where %q was due; expected sequence %v", m.ThirdMsgID, m.OplogID, id, msgIDs)
		}
		out = append(out, m)
	}
	return out
}

func (tc *testClient) reportAll(t *testing.T, msgs []client.Message) {
	t.Helper()
	for _, m := range msgs {
		if err := tc.ReportMsgReceived(m); err != nil {
			t.Fatal(err)
		}
	}
}

func drain(ch chan error) []error {
	var out []error
	for {
		select {
		case e := <-ch:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestClientReceivesTextAndBinaryInOrder(t *testing.T) {
	n := newNode(t)
	putBiz(t, n, "NEWS", "user")
	putBiz(t, n, "DEV-CMD", "device")
	c := newClient(t, n, client.Options{OSType: "Android", AppVersion: "1.2.3"})
	c.register(t, "NEWS", "DEV-CMD")
	c.connect(t, "alice")
	if !c.IsConnected() {
		t.Fatal("IsConnected is false after the connected callback")
	}

	before := time.Now().Add(-time.Second)
	bin := []byte{0, 1, 2, 0xfe, 0xff, '\n', 0x80}
	texts := []string{"hello", "wörld ✓ \"quoted\" \n line", " "}
	var ids []uint64
	for i, p := range texts {
		ids = append(ids, push(t, n, map[string]any{"bizType": "NEWS", "linkToken": "alice", "thirdMsgId": fmt.Sprintf("t%d", i), "payload": p}))
	}
	ids = append(ids, push(t, n, map[string]any{"bizType": "NEWS", "linkToken": "alice", "thirdMsgId": "b0", "binaryPayload": base64.StdEncoding.EncodeToString(bin)}))
	// A device-target bizType reaches the client through its device id.
	devID := push(t, n, map[string]any{"bizType": "DEV-CMD", "linkToken": c.SyncDeviceID(), "thirdMsgId": "d0", "payload": "lock"})

	got := c.expect(t, "t0", "t1", "t2", "b0", "d0")
	for i, m := range got[:3] {
		if m.BizType != "NEWS" || m.OplogID != ids[i] || m.IsBinary || m.Payload != texts[i] || m.BinaryPayload != nil {
			t.Fatalf("text message %d = %+v, want payload %q with oplog id %d", i, m, texts[i], ids[i])
		}
	}
	if m := got[3]; !m.IsBinary || !bytes.Equal(m.BinaryPayload, bin) || m.Payload != "" || m.OplogID != ids[3] {
		t.Fatalf("binary message = %+v, want bytes %v with oplog id %d", m, bin, ids[3])
	}
	if m := got[4]; m.BizType != "DEV-CMD" || m.Payload != "lock" || m.OplogID != devID {
		t.Fatalf("device message = %+v", m)
	}
	for i, m := range got {
		if m.PushTime.Before(before) || m.PushTime.After(time.Now().Add(time.Second)) {
			t.Fatalf("message %d push time %v is not around now", i, m.PushTime)
		}
		if i > 0 && i < 4 && m.OplogID <= got[i-1].OplogID {
			t.Fatalf("oplog ids not increasing: %d after %d", m.OplogID, got[i-1].OplogID)
		}
	}
}

// Reported messages are not delivered again, not even to the next process
// using the same state file; new ones are.
func TestClientResumesFromStateFile(t *testing.T) {
	n := newNode(t)
	putBiz(t, n, "NEWS", "user")
	state := filepath.Join(t.TempDir(), "state.json")
	for i := range 3 {
		pushText(t, n, "NEWS", "bob", fmt.Sprintf("old-%d", i))
	}

	first := newClient(t, n, client.Options{StateFile: state})
	first.register(t, "NEWS")
	first.connect(t, "bob")
	old := first.expect(t, "old-0", "old-1", "old-2")
	first.reportAll(t, old)
	if got := first.SyncPoint("NEWS"); got != old[2].OplogID {
		t.Fatalf("sync point %d after reporting, want %d", got, old[2].OplogID)
	}
	device := first.SyncDeviceID()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if first.IsConnected() {
		t.Fatal("connected after Close")
	}

	second := newClient(t, n, client.Options{StateFile: state})
	if second.SyncDeviceID() != device || second.SyncPoint("NEWS") != old[2].OplogID {
		t.Fatalf("second client: device %q point %d; want %q and %d", second.SyncDeviceID(), second.SyncPoint("NEWS"), device, old[2].OplogID)
	}
	second.register(t, "NEWS")
	second.connect(t, "bob")
	pushText(t, n, "NEWS", "bob", "new-0")
	// The backlog comes before live messages: an old one would show first.
	second.expect(t, "new-0")
}

// A message not reported is delivered again; one reported ahead of an
// earlier one is not, even though the sync point could not pass it.
func TestClientRedeliversUnreported(t *testing.T) {
	n := newNode(t)
	putBiz(t, n, "NEWS", "user")
	state := filepath.Join(t.TempDir(), "state.json")
	for i := range 3 {
		pushText(t, n, "NEWS", "carol", fmt.Sprintf("m%d", i))
	}

	c := newClient(t, n, client.Options{StateFile: state})
	c.register(t, "NEWS")
	c.connect(t, "carol")
	got := c.expect(t, "m0", "m1", "m2")
	c.reportAll(t, got[1:]) // not m0
	if p := c.SyncPoint("NEWS"); p != 0 {
		t.Fatalf("sync point %d with m0 unreported, want 0", p)
	}
	// Same client, new connection: only m0 comes again.
	if err := c.AppToBackground(); err != nil {
		t.Fatal(err)
	}
	c.awaitState(t, false)
	if err := c.AppToForeground(); err != nil {
		t.Fatal(err)
	}
	pushText(t, n, "NEWS", "carol", "m3")
	again := c.expect(t, "m0", "m3")
	if again[0].OplogID != got[0].OplogID {
		t.Fatalf("m0 came again with oplog id %d, first %d", again[0].OplogID, got[0].OplogID)
	}
	// Nothing reported now, then a new process with the same state file:
	// m0 and m3 are delivered again (m1, m2 stay behind the sync point
	// only once m0 is reported, so they come again too).
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	next := newClient(t, n, client.Options{StateFile: state})
	next.register(t, "NEWS")
	next.connect(t, "carol")
	redelivered := next.expect(t, "m0", "m1", "m2", "m3")
	next.reportAll(t, redelivered)
	if p := next.SyncPoint("NEWS"); p != redelivered[3].OplogID {
		t.Fatalf("sync point %d after reporting all, want %d", p, redelivered[3].OplogID)
	}
}

// Messages of a bizType without a callback stay pending until it is
// registered.
func TestClientRegisterLaterGetsBacklog(t *testing.T) {
	n := newNode(t)
	putBiz(t, n, "CHAT", "user")
	putBiz(t, n, "LATER", "user")
	c := newClient(t, n, client.Options{})
	c.register(t, "CHAT")
	c.connect(t, "dave")

	pushText(t, n, "LATER", "dave", "l0")
	pushText(t, n, "LATER", "dave", "l1")
	pushText(t, n, "CHAT", "dave", "c0")
	c.expect(t, "c0") // not l0, l1

	c.register(t, "LATER")
	c.reportAll(t, c.expect(t, "l0", "l1"))

	c.UnregisterBiz("LATER")
	pushText(t, n, "LATER", "dave", "l2")
	pushText(t, n, "CHAT", "dave", "c1")
	c.expect(t, "c1") // not l2: unregistered
	c.register(t, "LATER")
	c.expect(t, "l2")
}

// A message that arrives for a bizType unregistered meanwhile is not lost:
// the server sends it again once the bizType is registered again, on the
// same connection.
func TestClientKeepsMessagesOfUnregisteredBizType(t *testing.T) {
	n := newNode(t)
	putBiz(t, n, "LATER", "user")
	putBiz(t, n, "OTHER", "user")
	c := newClient(t, n, client.Options{})
	release := make(chan struct{})
	blocked := false
	c.RegisterBiz("LATER", func(m client.Message) {
		c.msgs <- m
		if !blocked { // hold the callback goroutine on the first message
			blocked = true
			<-release
		}
	})
	c.register(t, "OTHER")
	c.connect(t, "kim")
	pushText(t, n, "LATER", "kim", "l0")
	c.reportAll(t, c.expect(t, "l0"))
	// l1 and o1 arrive and wait behind the held callback.
	pushText(t, n, "LATER", "kim", "l1")
	o1 := client.Message{BizType: "OTHER", OplogID: pushText(t, n, "OTHER", "kim", "o1")}
	// No callback can tell that o1 has arrived; ReportMsgReceived can (it
	// refuses a message not delivered yet). l1 arrived before it.
	deadline := time.Now().Add(waitFor)
	for err := c.ReportMsgReceived(o1); err != nil; err = c.ReportMsgReceived(o1) {
		if !errors.Is(err, client.ErrNotDelivered) || time.Now().After(deadline) {
			t.Fatalf("o1 not received: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.UnregisterBiz("LATER")
	close(release)
	c.expect(t, "o1") // so l1 has been dispatched, without a callback
	c.register(t, "LATER")
	c.expect(t, "l1")
}

// When the server goes away the client reconnects by itself and resumes.
func TestClientReconnectsAfterServerRestart(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, "127.0.0.1:0")
	addr := n.HTTPAddr()
	putBiz(t, n, "NEWS", "user")
	c := newClient(t, n, client.Options{PingInterval: time.Second})
	c.register(t, "NEWS")
	c.connect(t, "erin")
	pushText(t, n, "NEWS", "erin", "before")
	c.reportAll(t, c.expect(t, "before"))

	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	c.awaitState(t, false)
	n2 := startNode(t, dir, addr)
	t.Cleanup(func() { n2.Close() })
	c.awaitState(t, true)
	if !c.IsConnected() {
		t.Fatal("IsConnected false after reconnecting")
	}
	pushText(t, n2, "NEWS", "erin", "after")
	c.expect(t, "after") // "before" was reported: not again
}

// A new user gets its own messages, from no sync point; logging out
// reconnects device-only: the device's messages still arrive, the user's
// no longer.
func TestClientSwitchesUser(t *testing.T) {
	n := newNode(t)
	putBiz(t, n, "NEWS", "user")
	putBiz(t, n, "LOCK", "device")
	c := newClient(t, n, client.Options{})
	c.register(t, "NEWS", "LOCK")
	c.connect(t, "frank")
	pushText(t, n, "NEWS", "frank", "f0")
	c.reportAll(t, c.expect(t, "f0"))
	for i := range 3 {
		pushText(t, n, "NEWS", "grace", fmt.Sprintf("g%d", i))
	}

	if err := c.UpdateUserInfo("grace", "s2"); err != nil {
		t.Fatal(err)
	}
	c.awaitState(t, false)
	c.awaitState(t, true)
	// Grace's stream has its own oplog ids, all of them delivered although
	// frank's sync point was beyond the first.
	c.expect(t, "g0", "g1", "g2")
	pushText(t, n, "NEWS", "frank", "f1")
	pushText(t, n, "NEWS", "grace", "g3")
	c.expect(t, "g3")

	if err := c.ClearUserInfo(); err != nil {
		t.Fatal(err)
	}
	c.awaitState(t, false)
	c.awaitState(t, true)
	if w := c.Withheld(); !slices.Equal(w, []string{"NEWS"}) {
		t.Fatalf("withheld %v after ClearUserInfo, want the user-target NEWS", w)
	}
	pushText(t, n, "NEWS", "grace", "g4")
	pushText(t, n, "LOCK", c.SyncDeviceID(), "l0")
	c.expect(t, "l0")
}

// An unknown instance is a fatal error: surfaced, and no reconnection.
func TestClientFatalErrorStopsReconnecting(t *testing.T) {
	n := newNode(t)
	c := newClient(t, n, client.Options{InstanceID: "ws_NOSUCH"})
	c.register(t, "NEWS")
	if err := c.UpdateUserInfo("henry", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.AppToForeground(); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-c.errs:
	case <-time.After(waitFor):
		t.Fatal("no error for an unknown instance")
	}
	var pe *client.ProtocolError
	if !errors.As(err, &pe) || pe.Code != client.CodeUnknownInstance || !client.IsFatal(err) {
		t.Fatalf("error %v, want a fatal 4404", err)
	}
	if c.Err() == nil || c.IsConnected() {
		t.Fatalf("Err() = %v, connected %v; want the fatal error and not connected", c.Err(), c.IsConnected())
	}
	select {
	case up := <-c.states:
		t.Fatalf("state changed to %v after a fatal error", up)
	default:
	}
}

// blackHole is a TCP proxy to a node whose connections can be made to
// swallow everything, as a network that silently drops a connection does.
type blackHole struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	pipes  []*holePipe
}

type holePipe struct {
	a, b    net.Conn
	swallow atomic.Bool
}

func newBlackHole(t *testing.T, target string) *blackHole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &blackHole{ln: ln, target: target}
	go h.accept()
	t.Cleanup(func() {
		ln.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, p := range h.pipes {
			p.a.Close()
			p.b.Close()
		}
	})
	return h
}

func (h *blackHole) accept() {
	for {
		a, err := h.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", h.target)
		if err != nil {
			a.Close()
			continue
		}
		p := &holePipe{a: a, b: b}
		h.mu.Lock()
		h.pipes = append(h.pipes, p)
		h.mu.Unlock()
		go p.copy(a, b)
		go p.copy(b, a)
	}
}

func (p *holePipe) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			dst.Close()
			return
		}
		if !p.swallow.Load() {
			dst.Write(buf[:n])
		}
	}
}

// swallowAll makes the open connections drop everything, without closing.
func (h *blackHole) swallowAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.pipes {
		p.swallow.Store(true)
	}
}

// A connection that stops answering pings is given up and replaced.
func TestClientDetectsDeadConnection(t *testing.T) {
	n := newNode(t)
	putBiz(t, n, "NEWS", "user")
	hole := newBlackHole(t, n.HTTPAddr())
	c := newClient(t, n, client.Options{Server: "http://" + hole.ln.Addr().String(), PingInterval: 100 * time.Millisecond})
	c.register(t, "NEWS")
	c.connect(t, "ivan")

	hole.swallowAll()
	c.awaitState(t, false)
	c.awaitState(t, true) // a new connection through the proxy
	pushText(t, n, "NEWS", "ivan", "alive")
	c.expect(t, "alive")
}
