package actors

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A client actor subscribes only to the streams its connection may read:
// its user's when it has a user (a device-only connection has none), its
// device's unless withheld, and the global streams of its global bizTypes
// always; also for the bizTypes it registers later.
func TestClientReadsOnlyItsAllowedStreams(t *testing.T) {
	global := &opsyncpb.BizTypeConfig{BizType: "G", Scope: opsyncpb.Scope_SCOPE_GLOBAL, Online: true}
	user := &opsyncpb.BizTypeConfig{BizType: "U", Online: true}
	device := &opsyncpb.BizTypeConfig{BizType: "D", Target: opsyncpb.Target_TARGET_DEVICE, Online: true}
	gStream := GlobalStream(testInstance, "G")
	for _, tc := range []struct {
		name         string
		user         string
		withheld     bool
		want         []string // the streams subscribed to, sorted
		registeredAt string   // a stream the later RegisterBiz goes to
	}{
		{"user and device", "alice", false, []string{dev1Stream, gStream, aliceStream}, aliceStream},
		{"device-only", "", false, []string{dev1Stream, gStream}, dev1Stream},
		{"device stream withheld", "alice", true, []string{gStream, aliceStream}, aliceStream},
		{"device-only, device stream withheld", "", true, []string{gStream}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := launchClientTest(t, ClientParams{InstanceID: testInstance, UserID: tc.user, DeviceID: "dev1",
				BizTypes: map[string]uint64{"G": 0, "U": 0, "D": 0}, DeviceStreamWithheld: tc.withheld, Window: 10}, true, nil, global, user, device)
			isSub := func(m proto.Message) bool { _, ok := m.(*opsyncpb.Subscribe); return ok }
			for _, s := range tc.want {
				ct.awaitFromClient(s, isSub)
			}
			// A bizType registered now is attached after everything the
			// actor did at its start: once its subscription is seen, the
			// streams the actor looked up are all it will.
			if tc.registeredAt != "" {
				ct.client.Handle(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_RegisterBiz{RegisterBiz: &opsyncpb.RegisterBiz{BizType: "LATER"}}})
				ct.awaitFromClient(tc.registeredAt, func(m proto.Message) bool {
					s, ok := m.(*opsyncpb.Subscribe)
					_, later := s.GetAfter()["LATER"]
					return ok && later
				})
			}
			ct.grains.mu.Lock()
			got := slices.Sorted(maps.Keys(ct.grains.pids))
			ct.grains.mu.Unlock()
			if !slices.Equal(got, tc.want) {
				t.Fatalf("streams looked up %v, want %v", got, tc.want)
			}
		})
	}
}

// The instance tells a connecting client what it may not read: a
// device-only connection the user-target bizTypes; with requireToken and
// deviceBinding "token" (the default), a connection whose token names no
// device its device's stream, hence the device-target bizTypes.
func TestAuthorizeClientWithholds(t *testing.T) {
	h := newInstanceTest(t)
	for _, c := range []*opsyncpb.BizTypeConfig{
		{BizType: "U", Persistent: true, RetentionDays: 30},
		{BizType: "D", Target: opsyncpb.Target_TARGET_DEVICE, Persistent: true, RetentionDays: 30},
		{BizType: "G", Scope: opsyncpb.Scope_SCOPE_GLOBAL, Persistent: true, RetentionDays: 30},
	} {
		if r := request[*opsyncpb.ConfigResult](t, h.system, h.pid, &opsyncpb.PutBizType{Config: c}); r.Code != ConfigOK {
			t.Fatalf("put %s: %s %s", c.BizType, r.Code, r.Message)
		}
	}
	token := func(sub, did string) string {
		tok, err := auth.SignHS256(auth.Claims{Subject: sub, Instance: testInstance, Device: did, ExpiresAt: epoch.Unix() + 3600}, []byte(h.created.ClientSecret))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	settings := func(require bool, binding opsyncpb.DeviceBinding) {
		r := request[*opsyncpb.InstanceResult](t, h.system, h.pid, &opsyncpb.ChangeInstanceSettings{RequireToken: &require, DeviceBinding: &binding})
		if r.Code != ConfigOK {
			t.Fatalf("settings: %s %s", r.Code, r.Message)
		}
	}
	const tokenBound, anyDevice = opsyncpb.DeviceBinding_DEVICE_BINDING_TOKEN, opsyncpb.DeviceBinding_DEVICE_BINDING_ANY
	for _, tc := range []struct {
		name    string
		require bool
		binding opsyncpb.DeviceBinding
		user    string
		token   string
		want    string // "refused: reason" or the withheld bizTypes, "device" when the device stream is
	}{
		{"no token, ids trusted", false, tokenBound, "alice", "", ""},
		{"device-only, no token", false, tokenBound, "", "", "U"},
		{"a token without did, requireToken off", false, tokenBound, "alice", token("alice", ""), ""},
		{"requireToken, token without did", true, tokenBound, "alice", token("alice", ""), "device D"},
		{"requireToken, token naming the device", true, tokenBound, "alice", token("alice", "dev1"), ""},
		{"requireToken, token naming another device", true, tokenBound, "alice", token("alice", "dev2"), "refused: token: did is not the deviceId"},
		{"requireToken, binding any", true, anyDevice, "alice", token("alice", ""), ""},
		{"requireToken, device-only with a device token", true, tokenBound, "", token("", "dev1"), "U"},
		{"requireToken, device-only, token without did", true, tokenBound, "", token("", ""), "device U D"},
		{"requireToken, device-only with a user's token", true, tokenBound, "", token("alice", "dev1"), "refused: token: a device-only connection (no userId) takes a token without sub"},
		{"requireToken, no token", true, tokenBound, "", "", "refused: this instance requires a client token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			settings(tc.require, tc.binding)
			r := request[*opsyncpb.ClientAuthorization](t, h.system, h.pid, &opsyncpb.AuthorizeClient{
				UserId: tc.user, DeviceId: "dev1", Token: tc.token, BizTypes: []string{"U", "D", "G", "UNKNOWN"}})
			var got []string
			switch {
			case !r.Authorized:
				got = []string{"refused: " + r.Reason}
			case r.DeviceStreamWithheld:
				got = append([]string{"device"}, r.WithheldBizTypes...)
			default:
				got = r.WithheldBizTypes
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Fatalf("got %q, want %q", s, tc.want)
			}
		})
	}
}
