package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Device-dimension sync before sign-in (and after sign-out), as the
// source does it: a client without a userId connects device-only and
// receives its device's and the global bizTypes; the user-target ones it
// registered are withheld (Connected says which) and stay pending until it
// connects as the user. The Go client and `opsync tail` connect
// device-only too.
func TestDeviceOnlyClientSyncsDeviceAndGlobalBizTypes(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_DEVONLY"
	putBizType(t, srv.URL, inst, "DEVICE-LOCK", map[string]any{"target": "device"})
	putBizType(t, srv.URL, inst, "CHAT", map[string]any{"target": "user"})
	putBizType(t, srv.URL, inst, "NEWS", map[string]any{"scope": "global"})
	pushOK(t, srv.URL, inst, "DEVICE-LOCK", "dev-1", "lock-1")
	pushOK(t, srv.URL, inst, "CHAT", "u1", "chat-1")
	if st, a := pushGlobal(t, srv.URL, inst, "NEWS", "news-1"); st != 200 || a.Msg != "SUCCESS" {
		t.Fatalf("global push: %d %+v", st, a)
	}

	c := connectClient(t, srv.URL, inst, clientSpec{device: "dev-1", biz: []string{"DEVICE-LOCK", "CHAT", "NEWS"}, report: true})
	if w := c.Withheld(); !slices.Equal(w, []string{"CHAT"}) {
		t.Fatalf("withheld %v, want the user-target CHAT", w)
	}
	if got := receiveUntil(t, c, "lock-1", "news-1"); slices.Contains(got, "chat-1") {
		t.Fatalf("a device-only client received the user's entry: %v", got)
	}
	pushOK(t, srv.URL, inst, "DEVICE-LOCK", "dev-1", "lock-2")
	c.expect(t, "lock-2")

	// Signing in reconnects as the user: the user's entry was pending.
	if err := c.UpdateUserInfo("u1", "s1"); err != nil {
		t.Fatal(err)
	}
	receiveUntil(t, c, "chat-1")

	// `opsync tail` without --user: device-only, saying what it withholds.
	p := startTail(t, srv.URL, inst, "--device", "dev-2", "--biz", "DEVICE-LOCK", "--biz", "CHAT", "--count", "1")
	pushOK(t, srv.URL, inst, "DEVICE-LOCK", "dev-2", "lock-dev-2")
	if lines := p.collect(t, time.Minute); len(lines) != 1 || lines[0].ThirdMsgID != "lock-dev-2" {
		t.Fatalf("tail printed %+v", lines)
	}
	if !strings.Contains(p.stderr.String(), "not received on this connection: CHAT") {
		t.Fatalf("tail did not say CHAT is withheld: %q", p.stderr.String())
	}
}

// bizType identifiers follow the source, which recommends upper case and
// '-' but does not enforce it (its own sample registers "bizType"): either
// case, digits, '-' and '_', matched exactly. The CLI warns about a name
// that is not upper case.
func TestBizTypeIdentifiersOfEitherCase(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_BIZCASE"
	for _, biz := range []string{"bizType", "BIZTYPE", "chat_msg-2"} {
		putBizType(t, srv.URL, inst, biz, map[string]any{"target": "user"})
		pushOK(t, srv.URL, inst, biz, "u1", "m-"+biz)
	}
	c := connectClient(t, srv.URL, inst, clientSpec{user: "u1", biz: []string{"bizType", "chat_msg-2"}, report: true})
	got := receiveUntil(t, c, "m-bizType", "m-chat_msg-2")
	if slices.Contains(got, "m-BIZTYPE") {
		t.Fatalf("registering bizType delivered BIZTYPE's entry: %v", got)
	}
	if st, a := push(t, srv.URL, inst, map[string]any{"bizType": "BizType", "linkToken": "u1", "thirdMsgId": "x", "payload": "x"}); st != 200 || a.Msg != "BIZ_NOT_ONLINE" {
		t.Fatalf("push to an unconfigured spelling: %d %+v", st, a)
	}

	_, stderr, code := run(t, "config", "put", "--server", srv.URL, "--instance", inst, "--biz", "orderStatus")
	if code != 0 || !strings.Contains(stderr, "not upper case") {
		t.Fatalf("config put --biz orderStatus: exit %d, stderr %q; want success with a warning", code, stderr)
	}
	if _, stderr, code = run(t, "config", "put", "--server", srv.URL, "--instance", inst, "--biz", "ORDER-STATUS"); code != 0 || stderr != "" {
		t.Fatalf("config put --biz ORDER-STATUS: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code = run(t, "config", "put", "--server", srv.URL, "--instance", inst, "--biz", "order.status"); code != 1 || !strings.Contains(stderr, "INVALID") {
		t.Fatalf("config put --biz order.status: exit %d, stderr %q; want INVALID", code, stderr)
	}
}

// One connection holds at most 256 bizTypes, Connect's and those
// registered since (a RegisterBiz past them closes with 4400, as a Connect
// with more does), and sends control frames within a rate: churning
// registrations closes with 4430.
func TestRegisterBizBoundedAndControlFramesRateLimited(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_LIMITS"
	putBizType(t, srv.URL, inst, "CHAT", map[string]any{})

	ws := dialWire(t, srv.URL, &opsyncpb.Connect{InstanceId: inst, UserId: "u1", DeviceId: "d1",
		BizTypes: []*opsyncpb.SyncPoint{{BizType: "CHAT"}}})
	// CHAT (held already) and B0..B254 make 256 bizTypes; B255 is one too
	// many.
	for i := range 256 {
		ws.send(t, &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_RegisterBiz{RegisterBiz: &opsyncpb.RegisterBiz{BizType: fmt.Sprint("B", i)}}})
		if i == 0 {
			ws.send(t, &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_RegisterBiz{RegisterBiz: &opsyncpb.RegisterBiz{BizType: "CHAT"}}})
		}
	}
	ws.wantClose(t, 4400, "more than 256 bizTypes")

	ws = dialWire(t, srv.URL, &opsyncpb.Connect{InstanceId: inst, UserId: "u1", DeviceId: "d2"})
	register := ws.frame(t, &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_RegisterBiz{RegisterBiz: &opsyncpb.RegisterBiz{BizType: "CHAT"}}})
	unregister := ws.frame(t, &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_UnregisterBiz{UnregisterBiz: &opsyncpb.UnregisterBiz{BizType: "CHAT"}}})
	go func() {
		for range 1000 {
			if ws.ws.Write(context.Background(), websocket.MessageBinary, register) != nil ||
				ws.ws.Write(context.Background(), websocket.MessageBinary, unregister) != nil {
				return
			}
		}
	}()
	ws.wantClose(t, 4430, "rate limited")
}

// With requireToken, a device's stream goes only to a connection whose
// token names that device (did), unless the instance's deviceBinding is
// "any": a valid token for one user cannot read another device's data by
// sending its device id.
func TestDeviceStreamsBoundToTokens(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_DEVBIND"
	secret := createInstance(t, srv.URL, inst).Instance.ClientSecret // shown at creation only
	putBizType(t, srv.URL, inst, "DEVICE-LOCK", map[string]any{"target": "device"})
	putBizType(t, srv.URL, inst, "CHAT", map[string]any{"target": "user", "multiDevice": true})
	setSettings(t, srv.URL, inst, map[string]any{"requireToken": true})
	var st struct{ Settings map[string]any }
	if call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+inst+"/settings", nil, &st); st.Settings["deviceBinding"] != "token" {
		t.Fatalf("settings %v: want deviceBinding token by default", st.Settings)
	}
	pushOK(t, srv.URL, inst, "DEVICE-LOCK", "victim-phone", "victim-lock")

	// Mallory's valid token has no did: connected as the victim's device,
	// she gets her own entries, not the device's.
	mallory := tokenFor(t, secret, auth.Claims{Subject: "mallory", Instance: inst})
	m, err := tryConnect(t, srv.URL, inst, "mallory", "s", "victim-phone", mallory, "DEVICE-LOCK", "CHAT")
	if err != nil {
		t.Fatal(err)
	}
	if w := m.Withheld(); !slices.Equal(w, []string{"DEVICE-LOCK"}) {
		t.Fatalf("withheld %v, want DEVICE-LOCK", w)
	}
	pushOK(t, srv.URL, inst, "DEVICE-LOCK", "victim-phone", "victim-lock-2")
	pushOK(t, srv.URL, inst, "CHAT", "mallory", "mallory-chat")
	if got := receiveUntil(t, m, "mallory-chat"); slices.ContainsFunc(got, func(id string) bool { return strings.HasPrefix(id, "victim") }) {
		t.Fatalf("a token without did read the device's entries: %v", got)
	}

	// The device's owner, with a token naming the device, gets them; so
	// does the device before sign-in, with a token of the device alone.
	owner := tokenFor(t, secret, auth.Claims{Subject: "victim", Instance: inst, Device: "victim-phone"})
	o, err := tryConnect(t, srv.URL, inst, "victim", "s", "victim-phone", owner, "DEVICE-LOCK")
	if err != nil {
		t.Fatal(err)
	}
	receiveUntil(t, o, "victim-lock", "victim-lock-2")
	pushOK(t, srv.URL, inst, "DEVICE-LOCK", "tablet", "tablet-lock")
	device := tokenFor(t, secret, auth.Claims{Instance: inst, Device: "tablet"})
	d, err := tryConnect(t, srv.URL, inst, "", "", "tablet", device, "DEVICE-LOCK", "CHAT")
	if err != nil {
		t.Fatal(err)
	}
	receiveUntil(t, d, "tablet-lock")
	d.Close()

	// deviceBinding "any" allows what "token" refuses; anything else is
	// refused.
	var bad map[string]any
	if code := call(t, http.MethodPatch, srv.URL+"/api/v1/instances/"+inst+"/settings", map[string]any{"deviceBinding": "user"}, &bad); code != http.StatusBadRequest {
		t.Fatalf("deviceBinding user: HTTP %d %v", code, bad)
	}
	setSettings(t, srv.URL, inst, map[string]any{"deviceBinding": "any"})
	pushOK(t, srv.URL, inst, "DEVICE-LOCK", "tablet", "tablet-lock-2")
	anyDevice, err := tryConnect(t, srv.URL, inst, "mallory", "s", "tablet", mallory, "DEVICE-LOCK")
	if err != nil {
		t.Fatal(err)
	}
	receiveUntil(t, anyDevice, "tablet-lock-2")
}

// receiveUntil reads c's messages until every one of ids has arrived, and
// returns the thirdMsgIds of all it read.
func receiveUntil(t *testing.T, c *appClient, ids ...string) []string {
	t.Helper()
	var got []string
	for missing := slices.Clone(ids); len(missing) > 0; {
		id := c.next(t).ThirdMsgID
		got = append(got, id)
		missing = slices.DeleteFunc(missing, func(m string) bool { return m == id })
	}
	return got
}

func pushGlobal(t *testing.T, base, instance, biz, msgID string) (int, pushAnswer) {
	t.Helper()
	var a pushAnswer
	st := call(t, http.MethodPost, base+"/webapi/sync/global?instanceId="+instance, map[string]any{"bizType": biz, "thirdMsgId": msgID, "payload": "p-" + msgID}, &a)
	return st, a
}

// wireConn is a raw client connection, for what the Go client never sends.
type wireConn struct {
	ws  *websocket.Conn
	ctx context.Context
}

// dialWire connects and sends connect, and waits for Connected.
func dialWire(t *testing.T, base string, connect *opsyncpb.Connect) *wireConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/webapi/sync/ws", &websocket.DialOptions{Subprotocols: []string{"opsync.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	c := &wireConn{ws: ws, ctx: ctx}
	c.send(t, &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Connect{Connect: connect}})
	if f := c.read(t); f.GetConnected() == nil {
		t.Fatalf("first frame %v, want Connected", f)
	}
	return c
}

func (c *wireConn) frame(t *testing.T, f *opsyncpb.ClientFrame) []byte {
	b, err := proto.Marshal(f)
	if err != nil {
		t.Error(err)
	}
	return b
}

func (c *wireConn) send(t *testing.T, f *opsyncpb.ClientFrame) {
	t.Helper()
	if err := c.ws.Write(c.ctx, websocket.MessageBinary, c.frame(t, f)); err != nil {
		t.Fatal(err)
	}
}

func (c *wireConn) read(t *testing.T) *opsyncpb.ServerFrame {
	t.Helper()
	_, b, err := c.ws.Read(c.ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	f := &opsyncpb.ServerFrame{}
	if err := proto.Unmarshal(b, f); err != nil {
		t.Fatal(err)
	}
	return f
}

// wantClose reads until the server closes, and checks that it sent an
// Error frame and closed with code, both saying why.
func (c *wireConn) wantClose(t *testing.T, code int, why string) {
	t.Helper()
	var last *opsyncpb.Error
	for {
		_, b, err := c.ws.Read(c.ctx)
		if err != nil {
			if got := int(websocket.CloseStatus(err)); got != code || last == nil || int(last.Code) != code || !strings.Contains(last.Reason, why) {
				t.Fatalf("closed with %d (%v) after Error %v; want %d saying %q", got, err, last, code, why)
			}
			return
		}
		f := &opsyncpb.ServerFrame{}
		if proto.Unmarshal(b, f) == nil && f.GetError() != nil {
			last = f.GetError()
		}
	}
}

// No command prints a secret it did not create: with every credential the
// CLI reads from the environment set, neither a command's --help nor the
// usage printed after a flag error shows it (the flag package prints a
// flag's default, and the environment's value used to be the default).
// Usage is printed once: to stdout for --help, to stderr after an error.
func TestCLINeverPrintsSecrets(t *testing.T) {
	secrets := map[string]string{
		"OPSYNC_ADMIN_TOKEN":  "fake-admin-token-5f3e",
		"OPSYNC_API_KEY":      "fake-api-key-9c1d",
		"OPSYNC_CLIENT_TOKEN": "fake-client-token-7a2b",
	}
	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); secrets[name] == "" {
			env = append(env, kv)
		}
	}
	for name, v := range secrets {
		env = append(env, name+"="+v)
	}

	// Every command the top-level usage lists, and every verb or scenario
	// each command's usage lists.
	top, _, _ := runEnv(t, env, "--help")
	var invocations [][]string
	leaf := map[string]bool{} // takes flags (a command with verbs takes a verb first)
	for _, cmd := range listed(top, "commands:") {
		invocations = append(invocations, []string{cmd})
		help, _, _ := runEnv(t, env, cmd, "--help")
		verbs := listed(help, "scenarios:")
		if m := regexp.MustCompile(`<([a-z-]+(?:\|[a-z-]+)+)>`).FindStringSubmatch(help); m != nil {
			verbs = append(verbs, strings.Split(m[1], "|")...)
		}
		if cmd == "journal" {
			verbs = append(verbs, "list", "dump")
		}
		for _, v := range verbs {
			invocations = append(invocations, []string{cmd, v})
			leaf[cmd+" "+v] = true
		}
		leaf[cmd] = len(verbs) == 0 || cmd == "journal"
	}
	if len(invocations) < 30 {
		t.Fatalf("found only %d commands and verbs: %v", len(invocations), invocations)
	}
	for _, inv := range invocations {
		stdout, stderr, code := runEnv(t, env, append(inv, "--help")...)
		if code != 0 || strings.Count(stdout, "usage:") != 1 || strings.Contains(stderr, "usage:") {
			t.Errorf("opsync %s --help: exit %d, usage %d times on stdout and %d on stderr",
				strings.Join(inv, " "), code, strings.Count(stdout, "usage:"), strings.Count(stderr, "usage:"))
		}
		checkNoSecret(t, inv, "--help", stdout+stderr, secrets)
		if !leaf[strings.Join(inv, " ")] {
			continue
		}
		stdout, stderr, code = runEnv(t, env, append(inv, "--no-such-flag")...)
		if code != 2 || strings.Count(stderr, "usage:") != 1 || stdout != "" {
			t.Errorf("opsync %s --no-such-flag: exit %d, usage %d times on stderr, stdout %q",
				strings.Join(inv, " "), code, strings.Count(stderr, "usage:"), stdout)
		}
		checkNoSecret(t, inv, "a flag error", stdout+stderr, secrets)
	}
}

func checkNoSecret(t *testing.T, inv []string, what, out string, secrets map[string]string) {
	t.Helper()
	for name, v := range secrets {
		if strings.Contains(out, v) {
			t.Errorf("opsync %s, %s: printed the value of %s", strings.Join(inv, " "), what, name)
		}
	}
}

// listed returns the first word of each indented line of usage after the
// line header, up to the next blank line.
func listed(usage, header string) []string {
	_, after, ok := strings.Cut(usage, "\n"+header+"\n")
	if !ok {
		return nil
	}
	var out []string
	for _, line := range strings.Split(after, "\n") {
		if strings.TrimSpace(line) == "" {
			break
		}
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(line, "  ") {
			out = append(out, f[0])
		}
	}
	return out
}
