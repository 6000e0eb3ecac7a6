package state

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/proto/opsyncpb"
)

const day = 24 * 60 * 60 * 1000

func opEv(t int64, operator, action string) *opsyncpb.Event {
	return &opsyncpb.Event{Time: t, Kind: &opsyncpb.Event_OperationRecorded{OperationRecorded: &opsyncpb.OperationRecorded{
		Operation: &opsyncpb.Operation{Time: t, Operator: operator, Action: action}}}}
}

// applyAll applies evs from seq 1 on and fails the test on an error.
func applyAll(t *testing.T, in *Instance, evs ...*opsyncpb.Event) {
	t.Helper()
	for _, ev := range evs {
		if err := in.Apply(in.LastSeq()+1, ev); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInstanceCredentialsSettingsAndSnapshot(t *testing.T) {
	in := NewInstance()
	applyAll(t, in,
		&opsyncpb.Event{Time: 10, Kind: &opsyncpb.Event_InstanceCreated{InstanceCreated: &opsyncpb.InstanceCreated{InstanceId: "ws_A"}}},
		&opsyncpb.Event{Time: 10, Kind: &opsyncpb.Event_InstanceKeysSet{InstanceKeysSet: storedKeys("k1", "s1")}},
		&opsyncpb.Event{Time: 20, Kind: &opsyncpb.Event_InstanceKeysSet{InstanceKeysSet: storedKeys("k2", "s2")}},
		&opsyncpb.Event{Time: 30, Kind: &opsyncpb.Event_InstanceSettingsChanged{InstanceSettingsChanged: &opsyncpb.InstanceSettingsChanged{
			Settings: &opsyncpb.InstanceSettings{RequireToken: true, ValidationUrl: "https://t/v", SignatureCheckOff: true}}}},
		&opsyncpb.Event{Time: 40, Kind: &opsyncpb.Event_BizTypePut{BizTypePut: &opsyncpb.BizTypePut{Config: &opsyncpb.BizTypeConfig{BizType: "PAY", ConsistencyCheck: true}}}},
		opEv(40, "alice", ActionCreateConfig),
	)
	keys, at := in.Keys()
	if !in.Exists() || in.CreatedAt() != 10 || !proto.Equal(keys, storedKeys("k2", "s2")) || at != 20 || in.ClearKeysRead() {
		t.Fatalf("keys %v at %d, created %d", keys, at, in.CreatedAt())
	}
	if st := in.Settings(); !st.RequireToken || st.ValidationUrl != "https://t/v" || !st.SignatureCheckOff || !in.NeedsConsistency() {
		t.Fatalf("settings %v", st)
	}
	// Copies: changing what the state hands out changes nothing.
	keys.ApiKeyHash[0]++
	if k, _ := in.Keys(); !proto.Equal(k, storedKeys("k2", "s2")) {
		t.Fatal("Keys returned the state's own message")
	}
	snap := in.Snapshot()
	b, err := proto.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var back opsyncpb.InstanceSnapshot
	if err := proto.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	re := RestoreInstance(&back)
	if !proto.Equal(re.Snapshot(), snap) {
		t.Fatalf("restored snapshot differs:\n%v\n%v", re.Snapshot(), snap)
	}
	rows, _ := re.Operations(&opsyncpb.QueryOperations{})
	if len(rows) != 1 || rows[0].Operator != "alice" {
		t.Fatalf("restored operation log %v", rows)
	}
}

// storedKeys are credentials as the instance actor stores them: the API
// key's hash, the client secret sealed (here a stand-in: the state never
// opens it).
func storedKeys(apiKey, secret string) *opsyncpb.InstanceKeysSet {
	return &opsyncpb.InstanceKeysSet{ApiKeyHash: auth.HashKey(apiKey), ApiKeyPrefix: "p-" + apiKey,
		ClientSecretSealed: []byte("sealed " + secret), ClientSecretPrefix: "p-" + secret}
}

// An earlier version stored the keys in clear, in events and snapshots.
// The state keeps no clear API key (it hashes it as it reads it) and holds
// a clear client secret aside until the actor seals it; a snapshot taken
// before that keeps it rather than lose it, and none after.
func TestInstanceMigratesClearKeys(t *testing.T) {
	created := &opsyncpb.Event{Time: 10, Kind: &opsyncpb.Event_InstanceCreated{InstanceCreated: &opsyncpb.InstanceCreated{InstanceId: "ws_A"}}}
	keysEv := func(at int64, k *opsyncpb.InstanceKeysSet) *opsyncpb.Event {
		return &opsyncpb.Event{Time: at, Kind: &opsyncpb.Event_InstanceKeysSet{InstanceKeysSet: k}}
	}
	clear := &opsyncpb.InstanceKeysSet{ApiKey: "old-api-key", ClientSecret: "old-secret"}
	fromEvents := func(evs ...*opsyncpb.Event) func(t *testing.T) *Instance {
		return func(t *testing.T) *Instance {
			in := NewInstance()
			applyAll(t, in, evs...)
			return in
		}
	}
	cases := []struct {
		name       string
		build      func(t *testing.T) *Instance
		clearRead  bool
		legacy     string // the secret held aside
		wantHashOf string // the API key whose hash is kept
	}{
		{name: "clear keys event", build: fromEvents(created, keysEv(20, clear)),
			clearRead: true, legacy: "old-secret", wantHashOf: "old-api-key"},
		{name: "clear keys snapshot", build: func(t *testing.T) *Instance {
			return RestoreInstance(&opsyncpb.InstanceSnapshot{LastSeq: 2, Created: true, Keys: clear, KeysSetAt: 20})
		}, clearRead: true, legacy: "old-secret", wantHashOf: "old-api-key"},
		{name: "clear keys, then rotated by this version", build: fromEvents(created, keysEv(20, clear), keysEv(30, storedKeys("new", "s"))),
			clearRead: true, legacy: "", wantHashOf: "new"},
		{name: "only this version's keys", build: fromEvents(created, keysEv(20, storedKeys("new", "s"))),
			clearRead: false, legacy: "", wantHashOf: "new"},
		{name: "an instance made before keys existed", build: fromEvents(created),
			clearRead: false, legacy: "", wantHashOf: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.build(t)
			keys, _ := in.Keys()
			if keys.ApiKey != "" || keys.ClientSecret != "" {
				t.Fatalf("the state keeps keys in clear: %v", keys)
			}
			if in.ClearKeysRead() != c.clearRead || in.LegacySecret() != c.legacy {
				t.Fatalf("ClearKeysRead %v, LegacySecret %q; want %v, %q", in.ClearKeysRead(), in.LegacySecret(), c.clearRead, c.legacy)
			}
			if c.wantHashOf == "" && len(keys.ApiKeyHash) != 0 || c.wantHashOf != "" && !auth.MatchesHash(c.wantHashOf, keys.ApiKeyHash) {
				t.Fatalf("API key hash %x, want the hash of %q", keys.ApiKeyHash, c.wantHashOf)
			}
			if c.legacy == "" {
				if s := in.Snapshot().Keys; s.ApiKey != "" || s.ClientSecret != "" {
					t.Fatalf("snapshot keeps keys in clear: %v", s)
				}
				return
			}
			if s := in.Snapshot().Keys; s.ApiKey != "" || s.ClientSecret != c.legacy {
				t.Fatalf("snapshot before sealing: %v; want the API key dropped and the secret kept", s)
			}
			in.SealLegacySecret([]byte("sealed"))
			s := in.Snapshot().Keys
			if s.ApiKey != "" || s.ClientSecret != "" || string(s.ClientSecretSealed) != "sealed" || in.LegacySecret() != "" {
				t.Fatalf("snapshot after sealing: %v", s)
			}
			if re := RestoreInstance(in.Snapshot()); re.ClearKeysRead() || re.LegacySecret() != "" {
				t.Fatal("a state restored from the migrated snapshot reads clear keys")
			}
		})
	}
}

func TestOperationsQuery(t *testing.T) {
	in := NewInstance()
	// Day d has an op by alice (CREATE_CONFIG) and one by bob (CREATE_PUSH).
	for d := int64(1); d <= 10; d++ {
		applyAll(t, in, opEv(d*day, "alice", ActionCreateConfig), opEv(d*day+1, "bob", ActionCreatePush))
	}
	q := func(q *opsyncpb.QueryOperations) ([]*opsyncpb.Operation, bool) { return in.Operations(q) }

	rows, trunc := q(&opsyncpb.QueryOperations{From: 3 * day, To: 5*day + 1})
	if len(rows) != 6 || trunc || rows[0].Time != 5*day+1 || rows[5].Time != 3*day {
		t.Fatalf("range: %d rows, newest %d oldest %d", len(rows), rows[0].Time, rows[len(rows)-1].Time)
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].Time > rows[i-1].Time {
			t.Fatal("not newest first")
		}
	}
	rows, _ = q(&opsyncpb.QueryOperations{Operator: "bob"})
	if len(rows) != 10 {
		t.Fatalf("bob: %d rows", len(rows))
	}
	rows, _ = q(&opsyncpb.QueryOperations{Action: "create_config", From: 9 * day})
	if len(rows) != 2 || rows[0].Operator != "alice" {
		t.Fatalf("action (any case) from day 9: %v", rows)
	}
	rows, _ = q(&opsyncpb.QueryOperations{Operator: "bob", Action: ActionCreateConfig})
	if len(rows) != 0 {
		t.Fatalf("bob's configs: %v", rows)
	}
	rows, trunc = q(&opsyncpb.QueryOperations{Limit: 3})
	if len(rows) != 3 || !trunc || rows[0].Time != 10*day+1 {
		t.Fatalf("limit 3: %d rows, truncated %v", len(rows), trunc)
	}
	rows, trunc = q(&opsyncpb.QueryOperations{Limit: 20})
	if len(rows) != 20 || trunc {
		t.Fatalf("limit 20 of 20: %d rows, truncated %v", len(rows), trunc)
	}
}

// The bizType filter matches the row's target exactly (not its case, not
// a prefix) and leaves out the instance's own rows (target ""); it
// combines with the other filters.
func TestOperationsQueryByBizType(t *testing.T) {
	in := NewInstance()
	row := func(time int64, operator, action, target string) *opsyncpb.Event {
		ev := opEv(time, operator, action)
		ev.GetOperationRecorded().Operation.Target = target
		return ev
	}
	applyAll(t, in,
		row(1, "alice", ActionCreateInstance, ""),
		row(2, "alice", ActionCreateConfig, "chat"),
		row(3, "bob", ActionCreatePush, "chat"),
		row(4, "bob", ActionCreateConfig, "chat2"),
		row(5, "alice", ActionCreatePush, "Chat"),
		row(6, "alice", ActionOfflineConfig, "chat"),
	)
	times := func(rows []*opsyncpb.Operation) []int64 {
		out := []int64{}
		for _, r := range rows {
			out = append(out, r.Time)
		}
		return out
	}
	for _, c := range []struct {
		name string
		q    *opsyncpb.QueryOperations
		want []int64
	}{
		{"exact", &opsyncpb.QueryOperations{BizType: "chat"}, []int64{6, 3, 2}},
		{"case matters", &opsyncpb.QueryOperations{BizType: "Chat"}, []int64{5}},
		{"no prefix match", &opsyncpb.QueryOperations{BizType: "cha"}, []int64{}},
		{"with operator", &opsyncpb.QueryOperations{BizType: "chat", Operator: "bob"}, []int64{3}},
		{"with action", &opsyncpb.QueryOperations{BizType: "chat", Action: "create_config"}, []int64{2}},
		{"with range", &opsyncpb.QueryOperations{BizType: "chat", From: 3, To: 5}, []int64{3}},
		{"with limit", &opsyncpb.QueryOperations{BizType: "chat", Limit: 2}, []int64{6, 3}},
		{"unset: every row", &opsyncpb.QueryOperations{}, []int64{6, 5, 4, 3, 2, 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows, _ := in.Operations(c.q)
			if got := times(rows); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("rows at %v, want %v", got, c.want)
			}
		})
	}
	if _, trunc := in.Operations(&opsyncpb.QueryOperations{BizType: "chat", Limit: 2}); !trunc {
		t.Fatal("3 rows of chat answered 2: not truncated")
	}
}

func TestOperationsCapsAndBounds(t *testing.T) {
	in := NewInstance()
	for i := 0; i < OperationsMaxQuery+500; i++ {
		applyAll(t, in, opEv(int64(1000+i), "op", ActionCreatePush))
	}
	rows, trunc := in.Operations(&opsyncpb.QueryOperations{Limit: 5000})
	if len(rows) != OperationsMaxQuery || !trunc {
		t.Fatalf("a query answered %d rows (truncated %v), cap %d", len(rows), trunc, OperationsMaxQuery)
	}
	// Memory keeps at most OperationsMaxRows rows...
	for i := 0; i < OperationsMaxRows; i++ {
		applyAll(t, in, opEv(int64(100000+i), "op", ActionCreatePush))
	}
	if n := len(in.Snapshot().Operations); n != OperationsMaxRows {
		t.Fatalf("kept %d rows, bound %d", n, OperationsMaxRows)
	}
	// ... and only the last OperationsKeepMillis before the newest row.
	applyAll(t, in, opEv(100000+OperationsKeepMillis+5000, "late", ActionSignatureOff))
	ops := in.Snapshot().Operations
	if ops[0].Time < 100000+5000 || ops[len(ops)-1].Operator != "late" {
		t.Fatalf("after a row a month later: oldest kept %d, %d rows", ops[0].Time, len(ops))
	}
	// The same events replayed keep the same rows (the bounds are measured
	// on the rows, not the clock).
	re := RestoreInstance(in.Snapshot())
	if !proto.Equal(re.Snapshot(), in.Snapshot()) {
		t.Fatal("restore changed the kept rows")
	}
}

func TestConfigFieldsAndChanges(t *testing.T) {
	old := &opsyncpb.BizTypeConfig{BizType: "PRICE", Target: opsyncpb.Target_TARGET_USER, Persistent: true, MaxRetries: 6, RetentionDays: 30, Online: true, CreatedAt: 1, UpdatedAt: 1}
	f := ConfigFields(old)
	want := map[string]string{"bizType": "PRICE", "target": "user", "scope": "specified", "repushMode": "queue", "persistent": "true", "maxRetries": "6", "multiDevice": "false", "online": "true"}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %q, want %q", k, f[k], v)
		}
	}
	if _, ok := f["createdAt"]; ok {
		t.Error("timestamps are not details")
	}
	cur := proto.Clone(old).(*opsyncpb.BizTypeConfig)
	cur.RepushMode, cur.Threshold, cur.UpdatedAt, cur.Description = opsyncpb.RepushMode_REPUSH_MODE_THRESHOLD, 5, 99, "prices"
	ch := ConfigChanges(old, cur)
	if len(ch) != 3 || ch["repushMode"].Old != "queue" || ch["repushMode"].New != "threshold" || ch["threshold"].New != "5" || ch["description"].New != "prices" {
		t.Fatalf("changes %v", ch)
	}
	g := ConfigFields(&opsyncpb.BizTypeConfig{Scope: opsyncpb.Scope_SCOPE_GLOBAL, Target: opsyncpb.Target_TARGET_DEVICE})
	if g["scope"] != "global" || g["target"] != "device" {
		t.Fatalf("enums %v", g)
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	for i, id := range []string{"b", "a", "b"} {
		ev := &opsyncpb.Event{Time: int64(i), Kind: &opsyncpb.Event_InstanceRegistered{InstanceRegistered: &opsyncpb.InstanceRegistered{InstanceId: id}}}
		if err := r.Apply(uint64(i+1), ev); err != nil {
			t.Fatal(err)
		}
	}
	list := r.Instances()
	if len(list) != 2 || list[0].InstanceId != "a" || list[1].InstanceId != "b" || list[1].RegisteredAt != 0 {
		t.Fatalf("instances %v", list)
	}
	if !proto.Equal(RestoreRegistry(r.Snapshot()).Snapshot(), r.Snapshot()) {
		t.Fatal("restore")
	}
	if err := r.Apply(9, opEv(1, "x", "y")); err == nil {
		t.Fatal("an instance event applied to the registry")
	}
	if err := r.Apply(2, &opsyncpb.Event{Kind: &opsyncpb.Event_InstanceRegistered{InstanceRegistered: &opsyncpb.InstanceRegistered{InstanceId: "c"}}}); err == nil {
		t.Fatal("an old sequence number applied")
	}
}
