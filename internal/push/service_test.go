package push

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/internal/resultcode"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// routed is one call the fake router received.
type routed struct {
	route     string // push, global, batch
	target    opsyncpb.Target
	linkToken string
	bizType   string // global pushes
	transient bool
	entries   []*opsyncpb.Entry
}

// fakeRouter is a cluster of one instance: it answers push contexts from
// ctx, every push SUCCESS with increasing oplog ids, and records the
// routes.
type fakeRouter struct {
	mu       sync.Mutex
	ctx      map[string]*opsyncpb.PushContext
	ctxErr   error
	lookups  int
	calls    []routed
	nextID   uint64
	failFor  string // a linkToken whose stream fails
	pushCode string // "" : SUCCESS
}

func (f *fakeRouter) PushContext(_ context.Context, id string) (*opsyncpb.PushContext, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	if f.ctxErr != nil {
		return nil, f.ctxErr
	}
	if pc, ok := f.ctx[id]; ok {
		return pc, nil
	}
	return &opsyncpb.PushContext{}, nil
}

func (f *fakeRouter) result() *opsyncpb.PushResult {
	f.nextID++
	code := f.pushCode
	if code == "" {
		code = resultcode.Success
	}
	return &opsyncpb.PushResult{Code: code, OplogId: f.nextID}
}

func (f *fakeRouter) Push(_ context.Context, _ string, target opsyncpb.Target, linkToken string, e *opsyncpb.Entry, transient bool) (*opsyncpb.PushResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, routed{route: "push", target: target, linkToken: linkToken, transient: transient, entries: []*opsyncpb.Entry{e}})
	if linkToken == f.failFor {
		return nil, errors.New("stream unavailable")
	}
	return f.result(), nil
}

func (f *fakeRouter) PushGlobal(_ context.Context, _ string, bizType string, e *opsyncpb.Entry) (*opsyncpb.PushResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, routed{route: "global", bizType: bizType, entries: []*opsyncpb.Entry{e}})
	return f.result(), nil
}

func (f *fakeRouter) PushBatch(_ context.Context, _ string, target opsyncpb.Target, linkToken string, es []*opsyncpb.Entry) (*opsyncpb.PushBatchResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, routed{route: "batch", target: target, linkToken: linkToken, entries: es})
	if linkToken == f.failFor {
		return nil, errors.New("stream unavailable")
	}
	res := &opsyncpb.PushBatchResult{}
	for range es {
		res.Results = append(res.Results, f.result())
	}
	return res, nil
}

const (
	testInstance = "ws_APP"
	testKey      = "the-key"
	day          = int64(dayMs)
)

// testConfigs are the instance's bizTypes.
func testConfigs() []*opsyncpb.BizTypeConfig {
	user := func(biz string, f func(*opsyncpb.BizTypeConfig)) *opsyncpb.BizTypeConfig {
		c := &opsyncpb.BizTypeConfig{BizType: biz, Scope: opsyncpb.Scope_SCOPE_SPECIFIED, Target: opsyncpb.Target_TARGET_USER,
			Persistent: true, Online: true, RetentionDays: 30, MaxRetries: 6, RepushMode: opsyncpb.RepushMode_REPUSH_MODE_QUEUE}
		if f != nil {
			f(c)
		}
		return c
	}
	return []*opsyncpb.BizTypeConfig{
		user("CHAT", nil),
		user("MULTI", func(c *opsyncpb.BizTypeConfig) { c.MultiDevice = true; c.RetentionDays = 1; c.MaxRetries = 2 }),
		user("LOCK", func(c *opsyncpb.BizTypeConfig) {
			c.Target = opsyncpb.Target_TARGET_DEVICE
			c.RepushMode, c.Threshold = opsyncpb.RepushMode_REPUSH_MODE_THRESHOLD, 5
		}),
		user("PAUSED", func(c *opsyncpb.BizTypeConfig) { c.Online = false }),
		user("LIVE", func(c *opsyncpb.BizTypeConfig) { c.Persistent = false }),
		user("NEWS", func(c *opsyncpb.BizTypeConfig) { c.Scope = opsyncpb.Scope_SCOPE_GLOBAL }),
	}
}

func newTestService(t *testing.T) (*Service, *fakeRouter, *fakeClock) {
	t.Helper()
	f := &fakeRouter{ctx: map[string]*opsyncpb.PushContext{
		testInstance: {InstanceExists: true, ApiKeyHash: auth.HashKey(testKey), Configs: testConfigs(), Version: 7},
		"ws_NOKEY":   {InstanceExists: true, Configs: testConfigs(), Version: 2}, // created before keys existed
		"ws_OPEN": {InstanceExists: true, ApiKeyHash: auth.HashKey(testKey), Configs: testConfigs(), Version: 3, Settings: &opsyncpb.InstanceSettings{
			PushAuth: opsyncpb.PushAuth_PUSH_AUTH_NETWORKS, PushNetworks: []string{"10.0.0.0/8", "fd00::/8"}}},
		"ws_LISTED": {InstanceExists: true, ApiKeyHash: auth.HashKey(testKey), Configs: testConfigs(), Version: 3, Settings: &opsyncpb.InstanceSettings{
			PushNetworks: []string{"10.0.0.0/8"}}}, // listed, but the key is asked for
	}}
	clock := newFakeClock()
	return New(f, Options{Now: clock.Now}), f, clock
}

// from is a caller presenting key from addr.
func from(key, addr string) Caller {
	return Caller{APIKey: key, From: netip.MustParseAddr(addr)}
}

func req(scope Scope, biz, linkToken string) Request {
	return Request{Scope: scope, BizType: biz, LinkToken: linkToken, ThirdMsgID: "m1", Payload: "p"}
}

// Every refusal of the push path answers its result code, and a push that
// is accepted goes the route its config says.
func TestServiceResultCodes(t *testing.T) {
	key := APIKey(testKey)
	for _, tc := range []struct {
		name     string
		instance string
		caller   Caller
		req      Request
		code     string
		route    string // "" : nothing routed
	}{
		{"accepted", testInstance, key, req(Specified, "CHAT", "alice"), resultcode.Success, "push"},
		{"unknown instance", "ws_NONE", key, req(Specified, "CHAT", "alice"), resultcode.InstanceNotFound, ""},
		{"unknown instance, as admin", "ws_NONE", Admin, req(ByLinkToken, "CHAT", "alice"), resultcode.InstanceNotFound, ""},
		{"unknown instance, no key", "ws_NONE", APIKey(""), req(Specified, "CHAT", "alice"), resultcode.InstanceNotFound, ""},
		{"no key", testInstance, APIKey(""), req(Specified, "CHAT", "alice"), resultcode.Unauthorized, ""},
		{"wrong key", testInstance, APIKey("not-the-key"), req(Specified, "CHAT", "alice"), resultcode.Unauthorized, ""},
		{"key prefix", testInstance, APIKey(testKey[:3]), req(Specified, "CHAT", "alice"), resultcode.Unauthorized, ""},
		{"instance without a key", "ws_NOKEY", APIKey(""), req(Specified, "CHAT", "alice"), resultcode.Unauthorized, ""},
		{"admin needs no key", testInstance, Admin, req(ByLinkToken, "CHAT", "alice"), resultcode.Success, "push"},
		{"keyless from a listed network", "ws_OPEN", from("", "10.1.2.3"), req(Specified, "CHAT", "alice"), resultcode.Success, "push"},
		{"keyless from a listed IPv6 network", "ws_OPEN", from("", "fd12::1"), req(Specified, "CHAT", "alice"), resultcode.Success, "push"},
		{"keyless from a listed network, IPv4 in IPv6", "ws_OPEN", from("", "::ffff:10.1.2.3"), req(Specified, "CHAT", "alice"), resultcode.Success, "push"},
		{"wrong key from a listed network", "ws_OPEN", from("not-the-key", "10.1.2.3"), req(Specified, "CHAT", "alice"), resultcode.Success, "push"},
		{"keyless from another network", "ws_OPEN", from("", "192.168.1.1"), req(Specified, "CHAT", "alice"), resultcode.Unauthorized, ""},
		{"keyless from no address", "ws_OPEN", APIKey(""), req(Specified, "CHAT", "alice"), resultcode.Unauthorized, ""},
		{"the key from another network", "ws_OPEN", from(testKey, "192.168.1.1"), req(Specified, "CHAT", "alice"), resultcode.Success, "push"},
		{"networks listed, key mode", "ws_LISTED", from("", "10.1.2.3"), req(Specified, "CHAT", "alice"), resultcode.Unauthorized, ""},
		{"unknown bizType", testInstance, key, req(Specified, "NOPE", "alice"), resultcode.BizNotOnline, ""},
		{"offline bizType", testInstance, key, req(Specified, "PAUSED", "alice"), resultcode.BizNotOnline, ""},
		{"global bizType on the single API", testInstance, key, req(Specified, "NEWS", "alice"), resultcode.NotSupportGlobal, ""},
		{"specified bizType on the global API", testInstance, key, req(Global, "CHAT", ""), resultcode.NotSupportGlobal, ""},
		{"offline before scope", testInstance, key, req(Global, "PAUSED", ""), resultcode.BizNotOnline, ""},
		{"global push", testInstance, key, req(Global, "NEWS", ""), resultcode.Success, "global"},
		{"admin: global with linkToken", testInstance, Admin, req(ByLinkToken, "NEWS", "alice"), resultcode.NotSupportGlobal, ""},
		{"admin: global without linkToken", testInstance, Admin, req(ByLinkToken, "NEWS", ""), resultcode.Success, "global"},
		{"admin: specified without linkToken", testInstance, Admin, req(ByLinkToken, "CHAT", ""), resultcode.ArgsIsNull, ""},
		{"single without linkToken", testInstance, key, req(Specified, "CHAT", ""), resultcode.ArgsIsNull, ""},
		{"transient", testInstance, key, req(Specified, "LIVE", "alice"), resultcode.Success, "push"},
		{"stream fails", testInstance, key, req(Specified, "CHAT", "broken"), resultcode.SystemError, "push"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, f, _ := newTestService(t)
			f.failFor = "broken"
			res := s.Push(context.Background(), tc.instance, tc.caller, tc.req)
			if res.Code != tc.code || res.Success() != resultcode.Successful(tc.code) {
				t.Fatalf("answered %+v, want %s", res, tc.code)
			}
			if (res.OplogID != 0) != (tc.code == resultcode.Success) {
				t.Fatalf("oplog id %d with %s", res.OplogID, res.Code)
			}
			if res.Routed != (tc.route != "") {
				t.Fatalf("Routed %v, want %v", res.Routed, tc.route != "")
			}
			switch {
			case tc.route == "" && len(f.calls) != 0:
				t.Fatalf("refused, yet routed %+v", f.calls)
			case tc.route != "" && (len(f.calls) != 1 || f.calls[0].route != tc.route):
				t.Fatalf("routed %+v, want one %s", f.calls, tc.route)
			}
			if f.lookups != 1 {
				t.Fatalf("%d instance round trips, want 1", f.lookups)
			}
		})
	}

	s, f, _ := newTestService(t)
	f.ctxErr = errors.New("instance unavailable")
	if res := s.Push(context.Background(), testInstance, key, req(Specified, "CHAT", "alice")); res.Code != resultcode.SystemError {
		t.Fatalf("instance unavailable: %+v", res)
	}
}

// A push goes to the stream its config's target names, transient when the
// config is not persistent; a global push to its bizType's stream.
func TestServiceRoutes(t *testing.T) {
	s, f, _ := newTestService(t)
	ctx := context.Background()
	k := APIKey(testKey)
	s.Push(ctx, testInstance, k, req(Specified, "CHAT", "alice"))
	s.Push(ctx, testInstance, k, req(Specified, "LOCK", "dev1"))
	s.Push(ctx, testInstance, k, req(Specified, "LIVE", "bob"))
	s.Push(ctx, testInstance, k, req(Global, "NEWS", ""))
	want := []routed{
		{route: "push", target: opsyncpb.Target_TARGET_USER, linkToken: "alice"},
		{route: "push", target: opsyncpb.Target_TARGET_DEVICE, linkToken: "dev1"},
		{route: "push", target: opsyncpb.Target_TARGET_USER, linkToken: "bob", transient: true},
		{route: "global", bizType: "NEWS"},
	}
	if len(f.calls) != len(want) {
		t.Fatalf("routed %d, want %d", len(f.calls), len(want))
	}
	for i, w := range want {
		g := f.calls[i]
		if g.route != w.route || g.target != w.target || g.linkToken != w.linkToken || g.transient != w.transient || g.bizType != w.bizType {
			t.Errorf("call %d: %+v, want %+v", i, g, w)
		}
	}
	if f.lookups != 1 {
		t.Fatalf("4 pushes made %d instance round trips, want 1 (cached)", f.lookups)
	}
}

// The entry carries its bizType's policy as it was when it came.
func TestServicePolicy(t *testing.T) {
	const now = int64(1_700_000_000_000)
	for _, tc := range []struct {
		name        string
		biz, link   string
		scope       Scope
		validEnd    int64
		deleteAfter int64
		keyUntil    int64 // the retention period, whatever validTimeEnd says
		threshold   uint32
		retries     uint32
		single      bool
	}{
		{"retention bounds it", "CHAT", "u", Specified, 0, now + 30*day, now + 30*day, 0, 6, true},
		{"an earlier validTimeEnd wins", "CHAT", "u", Specified, now + day, now + day, now + 30*day, 0, 6, true},
		{"a later validTimeEnd does not", "CHAT", "u", Specified, now + 40*day, now + 30*day, now + 30*day, 0, 6, true},
		{"multi-device, 1 day, 2 retries", "MULTI", "u", Specified, 0, now + day, now + day, 0, 2, false},
		{"device target, threshold", "LOCK", "d", Specified, 0, now + 30*day, now + 30*day, 5, 6, false},
		{"global is never single-device", "NEWS", "", Global, 0, now + 30*day, now + 30*day, 0, 6, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, f, _ := newTestService(t)
			s.now = func() time.Time { return time.UnixMilli(now) }
			r := req(tc.scope, tc.biz, tc.link)
			r.ValidTimeEnd = tc.validEnd
			r.Filters = Filters{OSType: "ios", AppMinVersion: "1.0", AppMaxVersion: "2.0"}
			if res := s.Push(context.Background(), testInstance, APIKey(testKey), r); res.Code != resultcode.Success {
				t.Fatalf("push: %+v", res)
			}
			e := f.calls[0].entries[0]
			if e.KeepKeyUntil != tc.keyUntil {
				t.Fatalf("entry keepKeyUntil %d, want %d", e.KeepKeyUntil, tc.keyUntil)
			}
			if e.DeleteAfter != tc.deleteAfter || e.Threshold != tc.threshold || e.MaxRetries != tc.retries || e.SingleDevice != tc.single {
				t.Fatalf("entry deleteAfter %d threshold %d retries %d single %v; want %d %d %d %v",
					e.DeleteAfter, e.Threshold, e.MaxRetries, e.SingleDevice, tc.deleteAfter, tc.threshold, tc.retries, tc.single)
			}
			want := &opsyncpb.Entry{BizType: tc.biz, ThirdMsgId: "m1", Payload: "p", OsType: "ios", AppMinVersion: "1.0", AppMaxVersion: "2.0",
				ValidTimeEnd: tc.validEnd, DeleteAfter: e.DeleteAfter, KeepKeyUntil: e.KeepKeyUntil, Threshold: e.Threshold, MaxRetries: e.MaxRetries, SingleDevice: e.SingleDevice}
			if !proto.Equal(e, want) {
				t.Fatalf("entry %v, want %v", e, want)
			}
		})
	}
}

// A batch answers every item in order: refusals per item, the accepted
// ones grouped by stream (one PushBatch per stream, items in order), each
// entry under its own bizType's policy; a failing stream fails its items
// only.
func TestServiceBatch(t *testing.T) {
	s, f, clock := newTestService(t)
	f.failFor = "broken"
	now := clock.Now().UnixMilli()
	items := []*Request{
		{BizType: "CHAT", LinkToken: "alice", ThirdMsgID: "a1", Payload: "1"}, // 0: alice
		{BizType: "CHAT", LinkToken: "bob", ThirdMsgID: "b1", Payload: "2"},   // 1: bob
		nil, // 2: refused by the edge
		{BizType: "MULTI", LinkToken: "alice", ThirdMsgID: "a2", Payload: "3"},  // 3: alice, another policy
		{BizType: "PAUSED", LinkToken: "alice", ThirdMsgID: "x", Payload: "4"},  // 4: offline
		{BizType: "NEWS", LinkToken: "alice", ThirdMsgID: "x", Payload: "5"},    // 5: global
		{BizType: "LIVE", LinkToken: "alice", ThirdMsgID: "x", Payload: "6"},    // 6: transient
		{BizType: "NOPE", LinkToken: "alice", ThirdMsgID: "x", Payload: "7"},    // 7: unknown
		{BizType: "LOCK", LinkToken: "alice", ThirdMsgID: "d1", Payload: "8"},   // 8: the device alice
		{BizType: "CHAT", LinkToken: "alice", ThirdMsgID: "a3", Payload: "9"},   // 9: alice
		{BizType: "CHAT", LinkToken: "broken", ThirdMsgID: "z", Payload: "10"},  // 10: a failing stream
		{BizType: "CHAT", LinkToken: "broken", ThirdMsgID: "z2", Payload: "11"}, // 11
	}
	tenant, refused := s.Authorize(context.Background(), testInstance, APIKey(testKey))
	if tenant == nil {
		t.Fatalf("authorize: %+v", refused)
	}
	res := tenant.Batch(context.Background(), items)
	want := []string{"SUCCESS", "SUCCESS", "", "SUCCESS", "BIZ_NOT_ONLINE", "NOT_SUPPORT_GLOBAL", "ARGS_INVALID", "BIZ_NOT_ONLINE", "SUCCESS", "SUCCESS", "SYSTEM_ERROR", "SYSTEM_ERROR"}
	for i, w := range want {
		if res[i].Code != w {
			t.Errorf("item %d answered %+v, want %s", i, res[i], w)
		}
	}
	if !(res[0].OplogID < res[3].OplogID && res[3].OplogID < res[9].OplogID) {
		t.Errorf("alice's items have oplog ids %d %d %d, not in item order", res[0].OplogID, res[3].OplogID, res[9].OplogID)
	}
	var streams []string
	byStream := map[string]routed{}
	for _, c := range f.calls {
		if c.route != "batch" {
			t.Fatalf("a batch item went by %s", c.route)
		}
		k := fmt.Sprint(c.target, "/", c.linkToken)
		streams = append(streams, k)
		byStream[k] = c
	}
	sort.Strings(streams)
	if fmt.Sprint(streams) != "[TARGET_DEVICE/alice TARGET_USER/alice TARGET_USER/bob TARGET_USER/broken]" {
		t.Fatalf("one PushBatch per stream expected, got %v", streams)
	}
	alice := byStream["TARGET_USER/alice"].entries
	if len(alice) != 3 || alice[0].ThirdMsgId != "a1" || alice[1].ThirdMsgId != "a2" || alice[2].ThirdMsgId != "a3" {
		t.Fatalf("alice's stream got %v", alice)
	}
	// Each entry under its own bizType's config, even in a shared stream.
	if alice[0].DeleteAfter != now+30*day || !alice[0].SingleDevice || alice[1].DeleteAfter != now+day || alice[1].SingleDevice || alice[1].MaxRetries != 2 {
		t.Fatalf("alice's entries carry %v / %v", alice[0], alice[1])
	}
	if d := byStream["TARGET_DEVICE/alice"].entries; len(d) != 1 || d[0].Threshold != 5 {
		t.Fatalf("the device stream got %v", d)
	}
	if f.lookups != 1 {
		t.Fatalf("the batch made %d instance round trips, want 1", f.lookups)
	}
}

// Change notices and Invalidate reach the cache: the next push sees the
// change; without them the cache answers until its TTL.
func TestServiceSeesChanges(t *testing.T) {
	s, f, clock := newTestService(t)
	ctx := context.Background()
	push := func() string { return s.Push(ctx, testInstance, APIKey(testKey), req(Specified, "CHAT", "alice")).Code }
	if c := push(); c != resultcode.Success {
		t.Fatal(c)
	}
	offline := func(key string, version uint64) {
		cfgs := testConfigs()
		cfgs[0].Online = false
		f.mu.Lock()
		f.ctx[testInstance] = &opsyncpb.PushContext{InstanceExists: true, ApiKeyHash: auth.HashKey(key), Configs: cfgs, Version: version}
		f.mu.Unlock()
	}
	offline(testKey, 8)
	if c := push(); c != resultcode.Success {
		t.Fatalf("without a notice the cached context answers: %s", c)
	}
	s.InstanceChanged(testInstance, 8)
	if c := push(); c != resultcode.BizNotOnline {
		t.Fatalf("after the notice: %s", c)
	}
	f.mu.Lock()
	f.ctx[testInstance] = &opsyncpb.PushContext{InstanceExists: true, ApiKeyHash: auth.HashKey("rotated"), Configs: testConfigs(), Version: 10}
	f.mu.Unlock()
	s.Invalidate(testInstance)
	if c := push(); c != resultcode.Unauthorized {
		t.Fatalf("the old key after Invalidate: %s", c)
	}
	offline("rotated", 11)
	clock.Advance(CacheTTL)
	if c := s.Push(ctx, testInstance, APIKey("rotated"), req(Specified, "CHAT", "alice")).Code; c != resultcode.BizNotOnline {
		t.Fatalf("after CacheTTL without a notice: %s", c)
	}

	// A settings change: keyless pushes from a network, then the key again.
	keyless := func() string {
		return s.Push(ctx, testInstance, from("", "10.0.0.1"), req(Specified, "CHAT", "alice")).Code
	}
	settings := func(version uint64, st *opsyncpb.InstanceSettings) {
		f.mu.Lock()
		f.ctx[testInstance] = &opsyncpb.PushContext{InstanceExists: true, ApiKeyHash: auth.HashKey("rotated"), Configs: testConfigs(), Version: version, Settings: st}
		f.mu.Unlock()
		s.InstanceChanged(testInstance, version)
	}
	settings(12, &opsyncpb.InstanceSettings{PushAuth: opsyncpb.PushAuth_PUSH_AUTH_NETWORKS, PushNetworks: []string{"10.0.0.0/8"}})
	if c := keyless(); c != resultcode.Success {
		t.Fatalf("keyless after opening the network: %s", c)
	}
	settings(13, &opsyncpb.InstanceSettings{PushNetworks: []string{"10.0.0.0/8"}})
	if c := keyless(); c != resultcode.Unauthorized {
		t.Fatalf("keyless after going back to the key: %s", c)
	}
}
