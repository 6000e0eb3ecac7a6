package actors

import (
	"bytes"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/document"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A document's record viewers get a live mark when they subscribe (no
// data; the version of the last change journaled), then each durable
// change, in journal order, as the change left the records (whoever made
// it); a refused command sends nothing; an unsubscribed viewer gets
// nothing more.
func TestDocDataViewersGetChanges(t *testing.T) {
	key, _ := NewEnvKey(map[uint32][]byte{1: bytes.Repeat([]byte{5}, 32)})
	d := (&Deps{Store: newTestStore(), Clock: newFakeClock(), Logger: quiet, EnvKeys: fixedEnvKeys{testInstance: key}}).withDefaults()
	system := newSystem(t)
	pid := spawnGrain(system, actor.PropsFromProducer(func() actor.Actor { return newDocDataActor(d) }), DocDataIdentity(testInstance, "doc1"), KindDocData)
	ask := func(cmd *opsyncpb.DocDataCommand) *opsyncpb.DocDataAnswer {
		t.Helper()
		cmd.DocumentId = "doc1"
		return request[*opsyncpb.DocDataAnswer](t, system, pid, cmd)
	}
	// viewer plays a client actor: it records what the hub hands it, and
	// answers a ping once it has handled what came before.
	viewer := func(user string) (*actor.PID, chan *hubDelivery) {
		got := make(chan *hubDelivery, 16)
		v := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
			switch m := ctx.Message().(type) {
			case *hubDelivery:
				got <- m
			case string:
				ctx.Respond(m)
			}
		}))
		request[*opsyncpb.StateSubscribed](t, system, pid, &opsyncpb.StateSubscribe{ClientAddress: v.Address, ClientId: v.Id, UserId: user})
		return v, got
	}
	// live takes a viewer's live mark, which must be at version.
	live := func(got chan *hubDelivery, version uint64) {
		t.Helper()
		select {
		case m := <-got:
			if m.state == nil || m.state.Kind != document.RecordsStateKind || m.state.Id != "doc1" || len(m.state.Data) != 0 || m.state.Version != version {
				t.Fatalf("a live mark at %d: got %v", version, m.state)
			}
		case <-time.After(awaitTimeout):
			t.Fatal("the viewer got no live mark")
		}
	}
	bob, got := viewer("bob")
	_, carol := viewer("carol")
	live(got, 0) // no change yet
	live(carol, 0)
	nextOf := func(got chan *hubDelivery) *opsyncpb.DocumentDataEvent {
		t.Helper()
		select {
		case m := <-got:
			if m.state == nil || m.state.Kind != document.RecordsStateKind || m.state.Id != "doc1" || m.stream != DocDataIdentity(testInstance, "doc1")+recordsStream {
				t.Fatalf("a delivery of %v", m.state)
			}
			e := &opsyncpb.DocumentDataEvent{}
			if err := proto.Unmarshal(m.state.Data, e); err != nil {
				t.Fatal(err)
			}
			return e
		case <-time.After(awaitTimeout):
			t.Fatal("the viewer got nothing")
			return nil
		}
	}
	next := func() *opsyncpb.DocumentDataEvent {
		t.Helper()
		e := nextOf(got)
		if c := nextOf(carol); !proto.Equal(c, e) {
			t.Fatalf("viewers got different changes: %v and %v", e, c)
		}
		return e
	}
	create := opsyncpb.DocAction_DOC_ACTION_CREATE
	comment := opsyncpb.DocKind_DOC_KIND_COMMENT
	ask(&opsyncpb.DocDataCommand{Action: create, Kind: opsyncpb.DocKind_DOC_KIND_THREAD, Record: &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Thread{Thread: &opsyncpb.DocThread{Id: "t"}}}})
	if e := next(); e.Put[0].GetThread().GetId() != "t" {
		t.Fatalf("the thread's creation: %v", e)
	}
	ask(&opsyncpb.DocDataCommand{Action: create, Kind: comment, ActingUser: "alice",
		Record: &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Comment{Comment: &opsyncpb.DocComment{Id: "c", ThreadId: "t", Content: "hi"}}}})
	if c := next().Put[0].GetComment(); c.GetId() != "c" || c.UserId != "alice" || c.Order == 0 {
		t.Fatalf("the comment as applied: %v", c)
	}
	// Refused: nothing is sent (the next delivery is the removal).
	if a := ask(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_DELETE, Kind: comment, Id: "c", ActingUser: "bob"}); a.Code == "" {
		t.Fatal("bob deleted alice's comment")
	}
	ask(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_DELETE, Kind: comment, Id: "c", Force: true})
	if e := next(); len(e.Removed) != 1 || e.Removed[0].Id != "c" || len(e.Put) != 0 {
		t.Fatalf("the removal: %v", e)
	}
	// A viewer subscribing now is live at the removal's seq (the thread,
	// the comment, the removal: seq 3).
	_, dave := viewer("dave")
	live(dave, 3)
	system.Root.Send(pid, &opsyncpb.StateUnsubscribe{ClientAddress: bob.Address, ClientId: bob.Id})
	ask(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_UPDATE, Kind: opsyncpb.DocKind_DOC_KIND_THREAD, Id: "t",
		Record: &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Thread{Thread: &opsyncpb.DocThread{Attributes: `{"a":1}`}}}})
	if e := nextOf(carol); e.Put[0].GetThread().GetAttributes() != `{"a":1}` {
		t.Fatalf("the update: %v", e)
	}
	if e := nextOf(dave); e.Put[0].GetThread().GetAttributes() != `{"a":1}` {
		t.Fatalf("the update, to the later viewer: %v", e)
	}
	// The hub handed carol the update; had it been bob's too, bob has
	// handled it before this ping.
	if _, err := system.Root.RequestFuture(bob, "ping", awaitTimeout).Result(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		t.Fatalf("an unsubscribed viewer got %v", m.state)
	default:
	}
}
