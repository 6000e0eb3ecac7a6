package actors

import (
	"slices"
	"testing"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// The push settings of an instance: checked, stored canonical, logged as
// MODIFY_SETTINGS with what changed, and handed to the push path in the
// push context.
func TestInstancePushSettings(t *testing.T) {
	networks := opsyncpb.PushAuth_PUSH_AUTH_NETWORKS
	apiKey := opsyncpb.PushAuth_PUSH_AUTH_API_KEY
	yes := true
	for _, tc := range []struct {
		name    string
		changes []*opsyncpb.ChangeInstanceSettings // applied in order; the last one is checked
		code    string
		auth    opsyncpb.PushAuth
		nets    []string
		logs    bool
		logged  map[string][2]string // the last change's MODIFY_SETTINGS changes
	}{
		{name: "networks, canonical", changes: []*opsyncpb.ChangeInstanceSettings{{PushAuth: &networks, SetPushNetworks: true,
			PushNetworks: []string{"10.1.2.3/8", " 192.168.0.7 ", "::ffff:172.16.0.0/108", "fd00::/8", "10.0.0.0/8"}}},
			code: ConfigOK, auth: networks, nets: []string{"10.0.0.0/8", "192.168.0.7/32", "172.16.0.0/12", "fd00::/8"},
			logged: map[string][2]string{"pushAuth": {"apiKey", "networks"}, "pushNetworks": {"", "10.0.0.0/8,192.168.0.7/32,172.16.0.0/12,fd00::/8"}}},
		{name: "networks mode without networks", changes: []*opsyncpb.ChangeInstanceSettings{{PushAuth: &networks}}, code: ConfigInvalid},
		{name: "not a network", changes: []*opsyncpb.ChangeInstanceSettings{{PushAuth: &networks, SetPushNetworks: true, PushNetworks: []string{"10.0.0.0/33"}}}, code: ConfigInvalid},
		{name: "a host name", changes: []*opsyncpb.ChangeInstanceSettings{{SetPushNetworks: true, PushNetworks: []string{"backend.local"}}}, code: ConfigInvalid},
		{name: "too many networks", changes: []*opsyncpb.ChangeInstanceSettings{{SetPushNetworks: true, PushNetworks: make([]string, MaxPushNetworks+1)}}, code: ConfigInvalid},
		{name: "emptying the list of an open instance", changes: []*opsyncpb.ChangeInstanceSettings{
			{PushAuth: &networks, SetPushNetworks: true, PushNetworks: []string{"10.0.0.0/8"}},
			{SetPushNetworks: true}}, code: ConfigInvalid},
		{name: "back to the key, list kept", changes: []*opsyncpb.ChangeInstanceSettings{
			{PushAuth: &networks, SetPushNetworks: true, PushNetworks: []string{"10.0.0.0/8"}},
			{PushAuth: &apiKey}}, code: ConfigOK, auth: apiKey, nets: []string{"10.0.0.0/8"},
			logged: map[string][2]string{"pushAuth": {"networks", "apiKey"}}},
		{name: "log the push APIs' pushes", changes: []*opsyncpb.ChangeInstanceSettings{{LogApiPushes: &yes}}, code: ConfigOK, logs: true,
			logged: map[string][2]string{"logApiPushes": {"false", "true"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newInstanceTest(t)
			var res *opsyncpb.InstanceResult
			for _, c := range tc.changes {
				res = request[*opsyncpb.InstanceResult](t, h.system, h.pid, c)
			}
			if res.Code != tc.code {
				t.Fatalf("answered %s %s, want %s", res.Code, res.Message, tc.code)
			}
			pc := request[*opsyncpb.PushContext](t, h.system, h.pid, &opsyncpb.GetPushContext{})
			st := pc.GetSettings()
			if tc.code != ConfigOK {
				if len(tc.changes) == 1 && (st.GetPushAuth() != apiKey || len(st.GetPushNetworks()) > 0) {
					t.Fatalf("a refused change was stored: %v", st)
				}
				return
			}
			if st.GetPushAuth() != tc.auth || !slices.Equal(st.GetPushNetworks(), tc.nets) || st.GetLogApiPushes() != tc.logs {
				t.Fatalf("push context settings %v", st)
			}
			ops := request[*opsyncpb.OperationList](t, h.system, h.pid, &opsyncpb.QueryOperations{Action: "MODIFY_SETTINGS"}).Operations
			if len(ops) == 0 {
				t.Fatal("no MODIFY_SETTINGS row")
			}
			got := map[string][2]string{}
			for k, c := range ops[0].Changes {
				got[k] = [2]string{c.Old, c.New}
			}
			if len(got) != len(tc.logged) {
				t.Fatalf("logged changes %v, want %v", got, tc.logged)
			}
			for k, v := range tc.logged {
				if got[k] != v {
					t.Fatalf("logged changes %v, want %v", got, tc.logged)
				}
			}
		})
	}
}

// RecordOperation appends all its rows, in order, in one append.
func TestInstanceRecordsSeveralRows(t *testing.T) {
	h := newInstanceTest(t)
	before := len(h.actions())
	res := request[*opsyncpb.InstanceResult](t, h.system, h.pid, &opsyncpb.RecordOperation{
		Operation: &opsyncpb.Operation{Action: "CREATE_PUSH", Target: "A", Time: 1},
		More:      []*opsyncpb.Operation{{Action: "CREATE_PUSH", Target: "B", Time: 2}, {Action: "CREATE_PUSH", Target: "C", Time: 3}}})
	if res.Code != ConfigOK {
		t.Fatalf("%s %s", res.Code, res.Message)
	}
	ops := request[*opsyncpb.OperationList](t, h.system, h.pid, &opsyncpb.QueryOperations{Action: "CREATE_PUSH"}).Operations
	if len(ops) != 3 || ops[0].Target != "C" || ops[2].Target != "A" || len(h.actions()) != before+3 {
		t.Fatalf("rows %v", ops)
	}
	bad := request[*opsyncpb.InstanceResult](t, h.system, h.pid, &opsyncpb.RecordOperation{
		Operation: &opsyncpb.Operation{Action: "CREATE_PUSH"}, More: []*opsyncpb.Operation{{}}})
	if bad.Code != ConfigInvalid || len(h.actions()) != before+3 {
		t.Fatalf("a row without an action: %s, %d rows", bad.Code, len(h.actions()))
	}
}
