package actors

import (
	"testing"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// An instance's card callback registrations: a second registration of a
// route key is refused without force_update; the secret is stored sealed
// (never in clear) and answered opened, after a restart too. The
// reserved bizType is made on request and refused to config put.
func TestCardCallbackRegistrations(t *testing.T) {
	store := newTestStore()
	system, pid := startInstance(t, store, testMasterKey)
	request[*opsyncpb.InstanceResult](t, system, pid, &opsyncpb.CreateInstance{})
	reg := func(url, secret string, force bool) *opsyncpb.CardCallbackResult {
		return request[*opsyncpb.CardCallbackResult](t, system, pid, &opsyncpb.RegisterCardCallback{RouteKey: "rk", Url: url, ApiSecret: secret, ForceUpdate: force})
	}
	get := func() *opsyncpb.CardCallbackResult {
		return request[*opsyncpb.CardCallbackResult](t, system, pid, &opsyncpb.GetCardCallback{RouteKey: "rk"})
	}
	if r := get(); r.Code != CardNotFound {
		t.Fatalf("an unregistered key answered %+v", r)
	}
	if r := reg("http://a.example/cb", "secret-one-sentinel", false); r.Code != "" || r.ApiSecret != "secret-one-sentinel" {
		t.Fatalf("register: %+v", r)
	}
	if r := reg("http://b.example/cb", "secret-two", false); r.Code != CardAlreadyExists {
		t.Fatalf("a second register without forceUpdate: %+v", r)
	}
	if r := get(); r.Url != "http://a.example/cb" || r.ApiSecret != "secret-one-sentinel" {
		t.Fatalf("after a refused register: %+v", r)
	}
	if r := reg("http://b.example/cb", "secret-two-sentinel", true); r.Code != "" {
		t.Fatalf("forceUpdate: %+v", r)
	}
	if store.storedContains(t, "secret-two-sentinel") || store.storedContains(t, "secret-one-sentinel") {
		t.Fatal("an apiSecret is stored in clear")
	}
	system.Root.StopFuture(pid).Wait()
	system2, pid2 := startInstance(t, store, testMasterKey)
	if r := request[*opsyncpb.CardCallbackResult](t, system2, pid2, &opsyncpb.GetCardCallback{RouteKey: "rk"}); r.Url != "http://b.example/cb" || r.ApiSecret != "secret-two-sentinel" {
		t.Fatalf("after a restart: %+v", r)
	}

	put := request[*opsyncpb.ConfigResult](t, system2, pid2, &opsyncpb.PutBizType{Config: &opsyncpb.BizTypeConfig{BizType: CardBizType, RetentionDays: 1}})
	if put.Code != ConfigInvalid {
		t.Fatalf("config put of the reserved bizType: %+v", put)
	}
	for i := range 2 {
		r := request[*opsyncpb.ConfigResult](t, system2, pid2, &opsyncpb.EnsureCardBizType{})
		if r.Code != ConfigOK || r.Config.BizType != CardBizType || r.Config.Target != opsyncpb.Target_TARGET_USER || !r.Config.Persistent || !r.Config.MultiDevice {
			t.Fatalf("ensure %d: %+v", i, r)
		}
	}
	if del := request[*opsyncpb.ConfigResult](t, system2, pid2, &opsyncpb.DeleteBizType{BizType: CardBizType}); del.Code != ConfigInvalid {
		t.Fatalf("config delete of the reserved bizType: %+v", del)
	}
}
