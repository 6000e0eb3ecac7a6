package actors

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/internal/keyring"
	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// An instance's keys at rest: the journal holds the API key's hash and
// the client secret sealed with the master key, never either in clear;
// the keys appear only in the answer of the command that made them; an
// instance an earlier version wrote with clear keys is migrated when it
// activates.

var testMasterKey = mustKey(keyring.Generate())

func mustKey(text string) *keyring.Key {
	k, err := keyring.Parse(text)
	if err != nil {
		panic(err)
	}
	return k
}

var instanceJournal = JournalID(KindInstance, testInstance)

// startInstance activates the instance actor over store with key.
func startInstance(t *testing.T, store *testStore, key *keyring.Key) (*actor.ActorSystem, *actor.PID) {
	t.Helper()
	deps := (&Deps{Store: store, Clock: newFakeClock(), Logger: quiet, MasterKey: key}).withDefaults()
	system := newSystem(t)
	return system, spawnGrain(system, actor.PropsFromProducer(func() actor.Actor { return newInstanceActor(deps) }), testInstance, KindInstance)
}

// storedContains reports whether any event or snapshot bytes of the
// instance's journal hold needle.
func (s *testStore) storedContains(t *testing.T, needle string) bool {
	t.Helper()
	found := false
	_, err := s.MemStore.Replay(context.Background(), instanceJournal, 1, persistence.MaxSeq, -1, func(_ uint64, b []byte) error {
		found = found || bytes.Contains(b, []byte(needle))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, snap, ok, err := s.MemStore.LoadSnapshot(context.Background(), instanceJournal, persistence.MaxSeq)
	if err != nil {
		t.Fatal(err)
	}
	return found || ok && bytes.Contains(snap, []byte(needle))
}

// tokenFor is a client token of user "u" signed with secret.
func tokenFor(t *testing.T, secret string) string {
	t.Helper()
	tok, err := auth.SignHS256(auth.Claims{Subject: "u", Instance: testInstance, ExpiresAt: epoch.Add(time.Hour).Unix()}, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// keysWork checks what the instance answers for apiKey and a token signed
// with secret.
func keysWork(t *testing.T, system *actor.ActorSystem, pid *actor.PID, apiKey, secret string, want bool) {
	t.Helper()
	if a := request[*opsyncpb.PushAuthorization](t, system, pid, &opsyncpb.AuthorizePush{ApiKey: apiKey}); a.Authorized != want {
		t.Fatalf("API key authorized %v, want %v", a.Authorized, want)
	}
	pc := request[*opsyncpb.PushContext](t, system, pid, &opsyncpb.GetPushContext{})
	if pc.ApiKey != "" || auth.MatchesHash(apiKey, pc.ApiKeyHash) != want {
		t.Fatalf("push context: key %q, hash matches %v; want no key and %v", pc.ApiKey, auth.MatchesHash(apiKey, pc.ApiKeyHash), want)
	}
	a := request[*opsyncpb.ClientAuthorization](t, system, pid, &opsyncpb.AuthorizeClient{UserId: "u", Token: tokenFor(t, secret)})
	if a.Authorized != want || a.InternalError != "" {
		t.Fatalf("token authorized %v (%s%s), want %v", a.Authorized, a.Reason, a.InternalError, want)
	}
}

func TestInstanceKeysShownOnce(t *testing.T) {
	store := newTestStore()
	system, pid := startInstance(t, store, testMasterKey)
	created := request[*opsyncpb.InstanceResult](t, system, pid, &opsyncpb.CreateInstance{}).Instance
	apiKey, secret := created.ApiKey, created.ClientSecret
	if apiKey == "" || secret == "" || created.ApiKeyPrefix != apiKey[:auth.KeyPrefixLen] || created.ClientSecretPrefix != secret[:auth.KeyPrefixLen] {
		t.Fatalf("create answered %v", created)
	}
	keysWork(t, system, pid, apiKey, secret, true)
	got := request[*opsyncpb.InstanceResult](t, system, pid, &opsyncpb.GetInstance{}).Instance
	if got.ApiKey != "" || got.ClientSecret != "" || got.ApiKeyPrefix != created.ApiKeyPrefix || got.ClientSecretPrefix != created.ClientSecretPrefix {
		t.Fatalf("get answered %v", got)
	}
	rotated := request[*opsyncpb.InstanceResult](t, system, pid, &opsyncpb.RotateInstanceKeys{}).Instance
	if rotated.ApiKey == "" || rotated.ApiKey == apiKey || rotated.ClientSecret == secret {
		t.Fatalf("rotate answered %v", rotated)
	}
	keysWork(t, system, pid, apiKey, secret, false)
	keysWork(t, system, pid, rotated.ApiKey, rotated.ClientSecret, true)
	for _, k := range []string{apiKey, secret, rotated.ApiKey, rotated.ClientSecret} {
		if store.storedContains(t, k) {
			t.Fatalf("the journal holds a key in clear")
		}
	}
}

// writeOld stores events (from seq 1) and a snapshot as an earlier
// version wrote them: the events the snapshot covers are trimmed.
func writeOld(t *testing.T, store *testStore, snap *opsyncpb.InstanceSnapshot, evs ...*opsyncpb.Event) {
	t.Helper()
	ctx := context.Background()
	var data [][]byte
	for _, ev := range evs {
		b, _ := proto.Marshal(ev)
		data = append(data, b)
	}
	if err := store.MemStore.Append(ctx, instanceJournal, 1, data); err != nil {
		t.Fatal(err)
	}
	if snap != nil {
		b, _ := proto.Marshal(snap)
		if err := store.MemStore.SaveSnapshot(ctx, instanceJournal, snap.LastSeq, b); err != nil {
			t.Fatal(err)
		}
		if err := store.MemStore.DeleteRange(ctx, instanceJournal, 1, snap.LastSeq); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInstanceMigratesClearKeysOnActivation(t *testing.T) {
	const oldKey, oldSecret = "old-api-key-0123456789-0123456789-012345678", "old-client-secret-0123456789-0123456789-01"
	clearKeys := &opsyncpb.InstanceKeysSet{ApiKey: oldKey, ClientSecret: oldSecret}
	created := &opsyncpb.Event{Time: 1, Kind: &opsyncpb.Event_InstanceCreated{InstanceCreated: &opsyncpb.InstanceCreated{InstanceId: testInstance}}}
	keysSet := &opsyncpb.Event{Time: 1, Kind: &opsyncpb.Event_InstanceKeysSet{InstanceKeysSet: clearKeys}}
	put := &opsyncpb.Event{Time: 2, Kind: &opsyncpb.Event_BizTypePut{BizTypePut: &opsyncpb.BizTypePut{Config: config("A", "v1")}}}
	cases := []struct {
		name     string
		snap     *opsyncpb.InstanceSnapshot
		evs      []*opsyncpb.Event
		snapSeq  uint64 // the migration's snapshot
		migrates bool
	}{
		{name: "clear keys in events", evs: []*opsyncpb.Event{created, keysSet, put}, snapSeq: 3, migrates: true},
		{name: "clear keys in a snapshot, events after it",
			snap: &opsyncpb.InstanceSnapshot{LastSeq: 2, Created: true, CreatedAt: 1, Keys: clearKeys, KeysSetAt: 1}, evs: []*opsyncpb.Event{created, keysSet, put}, snapSeq: 3, migrates: true},
		{name: "clear keys in a snapshot, nothing after it",
			snap: &opsyncpb.InstanceSnapshot{LastSeq: 3, Created: true, CreatedAt: 1, Keys: clearKeys, KeysSetAt: 1, Configs: []*opsyncpb.BizTypeConfig{config("A", "v1")}},
			evs:  []*opsyncpb.Event{created, keysSet, put}, snapSeq: 3, migrates: true},
		{name: "an instance made before keys existed", evs: []*opsyncpb.Event{created, put}, snapSeq: 0, migrates: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := newTestStore()
			writeOld(t, store, c.snap, c.evs...)
			system, pid := startInstance(t, store, testMasterKey)
			if !c.migrates {
				keysWork(t, system, pid, "", "", false)
				if seq := store.snapshotSeq(t, instanceJournal); seq != 0 {
					t.Fatalf("snapshot at %d for nothing to migrate", seq)
				}
				return
			}
			store.await(t, "the migration's snapshot", func() bool {
				return store.snapshotSeq(t, instanceJournal) == c.snapSeq && !store.storedContains(t, oldKey) && !store.storedContains(t, oldSecret)
			})
			if evs := store.events(t, instanceJournal); len(evs) != 0 {
				t.Fatalf("events %v kept below the migration's snapshot", seqs(evs))
			}
			// The old keys keep working, from memory and after another
			// activation from the migrated snapshot.
			keysWork(t, system, pid, oldKey, oldSecret, true)
			if a := request[*opsyncpb.BizTypeAnswer](t, system, pid, &opsyncpb.GetBizType{BizType: "A"}); !a.Found {
				t.Fatal("the migration lost a config")
			}
			system2, pid2 := startInstance(t, store, testMasterKey)
			keysWork(t, system2, pid2, oldKey, oldSecret, true)
			if got := request[*opsyncpb.InstanceResult](t, system2, pid2, &opsyncpb.GetInstance{}).Instance; got.ApiKey != "" || got.ApiKeyPrefix != oldKey[:auth.KeyPrefixLen] {
				t.Fatalf("get answered %v", got)
			}
		})
	}
}

// A node whose master key is not the one that sealed an instance's client
// secret says so to the client (an internal error, not a bad token) and
// never verifies with garbage; the API key (a hash) still works.
func TestInstanceClientSecretUnderAnotherMasterKey(t *testing.T) {
	store := newTestStore()
	system, pid := startInstance(t, store, testMasterKey)
	created := request[*opsyncpb.InstanceResult](t, system, pid, &opsyncpb.CreateInstance{}).Instance

	other, otherPID := startInstance(t, store, mustKey(keyring.Generate()))
	a := request[*opsyncpb.ClientAuthorization](t, other, otherPID, &opsyncpb.AuthorizeClient{UserId: "u", Token: tokenFor(t, created.ClientSecret)})
	if a.Authorized || a.InternalError == "" {
		t.Fatalf("token under another master key: authorized %v, internal error %q", a.Authorized, a.InternalError)
	}
	if p := request[*opsyncpb.PushAuthorization](t, other, otherPID, &opsyncpb.AuthorizePush{ApiKey: created.ApiKey}); !p.Authorized {
		t.Fatal("the API key stopped working under another master key")
	}
	noKey, noKeyPID := startInstance(t, store, nil)
	if r := request[*opsyncpb.InstanceResult](t, noKey, noKeyPID, &opsyncpb.RotateInstanceKeys{}); r.Code != ConfigSystemError {
		t.Fatalf("rotation without a master key answered %s", r.Code)
	}
}
