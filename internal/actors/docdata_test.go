package actors

import (
	"bytes"
	"context"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// fixedEnvKeys is an environment key source with one key per
// environment (the cluster's docenv actor is tested on its own).
type fixedEnvKeys map[string]*EnvKey

func (f fixedEnvKeys) EnvKey(env string) (*EnvKey, error) {
	if k, ok := f[env]; ok {
		return k, nil
	}
	return nil, ErrEnvDeleted
}

func TestDocDataActorSealsAndRecovers(t *testing.T) {
	key, _ := NewEnvKey(map[uint32][]byte{1: bytes.Repeat([]byte{7}, 32)})
	keys := fixedEnvKeys{testInstance: key}
	store := newTestStore()
	d := (&Deps{Store: store, Clock: newFakeClock(), Logger: quiet, SnapshotEvery: 3, EnvKeys: keys}).withDefaults()
	system := newSystem(t)
	identity := DocDataIdentity(testInstance, "doc1")
	journal := JournalID(KindDocData, identity)
	var pid *actor.PID
	start := func() {
		pid = spawnGrain(system, actor.PropsFromProducer(func() actor.Actor { return newDocDataActor(d) }), identity, KindDocData)
	}
	restart := func() {
		if err := system.Root.StopFuture(pid).Wait(); err != nil {
			t.Fatal(err)
		}
		start()
	}
	ask := func(cmd *opsyncpb.DocDataCommand) *opsyncpb.DocDataAnswer {
		t.Helper()
		cmd.DocumentId = "doc1"
		return request[*opsyncpb.DocDataAnswer](t, system, pid, cmd)
	}
	start()
	const secret = "SECRET-CONTENT"
	create := opsyncpb.DocAction_DOC_ACTION_CREATE
	if a := ask(&opsyncpb.DocDataCommand{Action: create, Kind: opsyncpb.DocKind_DOC_KIND_THREAD, Record: &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Thread{Thread: &opsyncpb.DocThread{Id: "t"}}}}); a.Code != "" {
		t.Fatal(a)
	}
	for _, id := range []string{"c1", "c2", "c3", "c4"} {
		a := ask(&opsyncpb.DocDataCommand{Action: create, Kind: opsyncpb.DocKind_DOC_KIND_COMMENT, ActingUser: "alice",
			Record: &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Comment{Comment: &opsyncpb.DocComment{Id: id, ThreadId: "t", Content: secret + id}}}})
		if a.Code != "" || a.Records[0].GetComment().UserId != "alice" {
			t.Fatalf("create %s: %v", id, a)
		}
	}
	// Another user may not delete alice's comment; a read after a write sees it.
	if a := ask(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_DELETE, Kind: opsyncpb.DocKind_DOC_KIND_COMMENT, Id: "c1", ActingUser: "bob"}); a.Code != state.DocForbidden {
		t.Fatalf("bob deletes alice's comment: %v", a)
	}
	for _, ev := range store.events(t, journal) {
		if _, ok := ev.ev.Kind.(*opsyncpb.Event_DocDataSealed); !ok {
			t.Fatalf("event %d journaled unsealed: %T", ev.seq, ev.ev.Kind)
		}
		if b, _ := proto.Marshal(ev.ev); bytes.Contains(b, []byte(secret)) {
			t.Fatalf("event %d holds the content in clear", ev.seq)
		}
	}
	store.await(t, "a snapshot after SnapshotEvery events", func() bool { return len(store.snapshotsOf(journal)) > 0 })
	_, raw, found, err := store.MemStore.LoadSnapshot(context.Background(), journal, persistence.MaxSeq)
	if err != nil || !found || bytes.Contains(raw, []byte(secret)) {
		t.Fatalf("the snapshot holds the content in clear (%v)", err)
	}
	restart()
	list := ask(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_LIST, Kind: opsyncpb.DocKind_DOC_KIND_COMMENT, Limit: 10})
	if len(list.Records) != 4 || list.Records[3].GetComment().Content != secret+"c4" {
		t.Fatalf("recovered from the sealed snapshot and events: %v", list)
	}
	// The document removed: its journal goes.
	if a := ask(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_REMOVE_DOCUMENT}); a.Code != "" {
		t.Fatal(a)
	}
	store.await(t, "the removed document's events deleted", func() bool { return len(store.events(t, journal)) == 0 })
	restart()
	if a := ask(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_GET, Kind: opsyncpb.DocKind_DOC_KIND_COMMENT, Id: "c1", IncludeDeleted: true}); a.Code != state.DocNotFound {
		t.Fatalf("after removal: %v", a)
	}
	// The environment deleted: its key gone, nothing reads back.
	delete(keys, testInstance)
	restart()
	if a := ask(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_LIST, Kind: opsyncpb.DocKind_DOC_KIND_COMMENT}); a.Code != state.DocNotFound {
		t.Fatalf("after the environment's deletion: %v", a)
	}
}

// A document of a deleted environment deletes its journal when activated.
func TestDocDataActorPurgedWithItsEnvironment(t *testing.T) {
	key, _ := NewEnvKey(map[uint32][]byte{1: bytes.Repeat([]byte{3}, 32)})
	keys := fixedEnvKeys{testInstance: key}
	store := newTestStore()
	d := (&Deps{Store: store, Clock: newFakeClock(), Logger: quiet, EnvKeys: keys}).withDefaults()
	system := newSystem(t)
	identity := DocDataIdentity(testInstance, "doc2")
	journal := JournalID(KindDocData, identity)
	pid := spawnGrain(system, actor.PropsFromProducer(func() actor.Actor { return newDocDataActor(d) }), identity, KindDocData)
	a := request[*opsyncpb.DocDataAnswer](t, system, pid, &opsyncpb.DocDataCommand{DocumentId: "doc2", Action: opsyncpb.DocAction_DOC_ACTION_CREATE,
		Kind: opsyncpb.DocKind_DOC_KIND_USER, Record: &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_User{User: &opsyncpb.DocUser{Id: "u", Name: "U"}}}})
	if a.Code != "" || len(store.events(t, journal)) != 1 {
		t.Fatalf("create: %v", a)
	}
	if err := system.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	delete(keys, testInstance)
	pid = spawnGrain(system, actor.PropsFromProducer(func() actor.Actor { return newDocDataActor(d) }), identity, KindDocData)
	if a := request[*opsyncpb.DocDataAnswer](t, system, pid, &opsyncpb.DocDataCommand{DocumentId: "doc2", Action: opsyncpb.DocAction_DOC_ACTION_LIST, Kind: opsyncpb.DocKind_DOC_KIND_USER}); a.Code != state.DocNotFound {
		t.Fatalf("after the environment's deletion: %v", a)
	}
	store.await(t, "the deleted environment's document journal purged", func() bool { return len(store.events(t, journal)) == 0 })
}
