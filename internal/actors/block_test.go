package actors

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// blockTest is one block actor over a test store and fake clock.
type blockTest struct {
	t      *testing.T
	system *actor.ActorSystem
	deps   *Deps
	pid    *actor.PID
}

const testBlock = testInstance + "/b/blk_test"

func newBlockTest(t *testing.T, snapshotEvery int) *blockTest {
	d := (&Deps{Store: newTestStore(), Clock: newFakeClock(), Logger: quiet, SnapshotEvery: snapshotEvery}).withDefaults()
	h := &blockTest{t: t, system: newSystem(t), deps: d}
	h.start()
	return h
}

func (h *blockTest) start() {
	deps := h.deps
	h.pid = spawnGrain(h.system, actor.PropsFromProducer(func() actor.Actor { return newBlockActor(deps) }), testBlock, KindBlock)
}

func (h *blockTest) restart() {
	if err := h.system.Root.StopFuture(h.pid).Wait(); err != nil {
		h.t.Fatal(err)
	}
	h.start()
}

func (h *blockTest) ask(msg any) *opsyncpb.EntityAnswer {
	h.t.Helper()
	switch m := msg.(type) {
	case *opsyncpb.CreateEntity:
		return request[*opsyncpb.EntityAnswer](h.t, h.system, h.pid, m)
	case *opsyncpb.UpdateEntity:
		return request[*opsyncpb.EntityAnswer](h.t, h.system, h.pid, m)
	case *opsyncpb.DeleteEntity:
		return request[*opsyncpb.EntityAnswer](h.t, h.system, h.pid, m)
	}
	return request[*opsyncpb.EntityAnswer](h.t, h.system, h.pid, &opsyncpb.GetEntity{})
}

// fakeViewer plays a client actor: it records what the hub hands it.
type fakeViewer struct {
	pid *actor.PID
	got chan *hubDelivery
}

func (h *blockTest) viewer(user string) *fakeViewer {
	v := &fakeViewer{got: make(chan *hubDelivery, 64)}
	v.pid = h.system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if d, ok := ctx.Message().(*hubDelivery); ok {
			v.got <- d
		}
	}))
	request[*opsyncpb.StateSubscribed](h.t, h.system, h.pid, &opsyncpb.StateSubscribe{ClientAddress: v.pid.Address, ClientId: v.pid.Id, UserId: user})
	return v
}

func (v *fakeViewer) next(t *testing.T) *hubDelivery {
	t.Helper()
	select {
	case d := <-v.got:
		return d
	case <-time.After(awaitTimeout):
		t.Fatal("the viewer got nothing")
		return nil
	}
}

func entity(version uint64, data string) *opsyncpb.BlockEntity {
	return &opsyncpb.BlockEntity{BlockId: "blk_test", BlockTypeId: "t", SourceData: data, Version: version}
}

// Versions: a create is idempotent, an update must raise the version (or
// gets the next one), a refused one stores nothing, and all survive a
// restart (from the journal, and from a snapshot).
func TestBlockVersions(t *testing.T) {
	for _, snapEvery := range []int{1000, 2} {
		h := newBlockTest(t, snapEvery)
		steps := []struct {
			msg     any
			code    string
			version uint64
			created bool
		}{
			{&opsyncpb.GetEntity{}, BlockNotFound, 0, false},
			{&opsyncpb.UpdateEntity{Entity: entity(2, "{}")}, BlockNotFound, 0, false},
			{&opsyncpb.CreateEntity{Entity: entity(0, `{"a":1}`)}, "", 1, true},
			{&opsyncpb.CreateEntity{Entity: entity(7, `{"a":2}`)}, "", 1, false},
			{&opsyncpb.UpdateEntity{Entity: entity(5, `{"a":5}`)}, "", 5, false},
			{&opsyncpb.UpdateEntity{Entity: entity(5, `{"a":6}`)}, BlockVersionConflict, 5, false},
			{&opsyncpb.UpdateEntity{Entity: entity(4, `{"a":6}`)}, BlockVersionConflict, 5, false},
			{&opsyncpb.UpdateEntity{Entity: entity(0, `{"a":7}`)}, "", 6, false},
			{&opsyncpb.GetEntity{}, "", 6, false},
		}
		for i, s := range steps {
			a := h.ask(s.msg)
			if a.Code != s.code || a.Entity.GetVersion() != s.version || a.Created != s.created {
				t.Fatalf("snapshot every %d, step %d: %+v, want code %q version %d created %v", snapEvery, i, a, s.code, s.version, s.created)
			}
		}
		h.restart()
		if a := h.ask(&opsyncpb.GetEntity{}); a.Entity.GetVersion() != 6 || a.Entity.SourceData != `{"a":7}` {
			t.Fatalf("snapshot every %d: after a restart %+v", snapEvery, a)
		}
		if a := h.ask(&opsyncpb.UpdateEntity{Entity: entity(6, "{}")}); a.Code != BlockVersionConflict {
			t.Fatalf("after a restart version 6 again: %+v", a)
		}
	}
}

// Viewers get the current version at subscribe, then every new one in
// order; typed messages go only to the listed users' viewers.
func TestBlockViewersAndTypedMessages(t *testing.T) {
	h := newBlockTest(t, 0)
	h.ask(&opsyncpb.CreateEntity{Entity: entity(3, "{}")})
	alice, bob := h.viewer("alice"), h.viewer("bob")
	for _, v := range []*fakeViewer{alice, bob} {
		if d := v.next(t); d.state.GetVersion() != 3 {
			t.Fatalf("at subscribe: %+v", d.state)
		}
	}
	h.ask(&opsyncpb.UpdateEntity{Entity: entity(0, "{}")})
	h.ask(&opsyncpb.UpdateEntity{Entity: entity(9, "{}")})
	for _, v := range []*fakeViewer{alice, bob} {
		for _, want := range []uint64{4, 9} {
			if d := v.next(t); d.state.GetVersion() != want {
				t.Fatalf("version %d, want %d", d.state.GetVersion(), want)
			}
		}
	}
	sent := request[*opsyncpb.TypedMessageSent](t, h.system, h.pid, &opsyncpb.SendTypedMessage{UserIds: []string{"bob", "carol"},
		Message: &opsyncpb.TypedMessage{Type: "badge", Data: []byte("1"), Version: 1}})
	if sent.Devices != 1 {
		t.Fatalf("sent to %d devices, want bob's one", sent.Devices)
	}
	if d := bob.next(t); d.typed.GetType() != "badge" || d.typed.Kind != StateKindBlock || d.typed.Id != "blk_test" {
		t.Fatalf("bob got %+v", d.typed)
	}
	// alice's next delivery is the next version: she got no typed message.
	h.ask(&opsyncpb.UpdateEntity{Entity: entity(0, "{}")})
	if d := alice.next(t); d.typed != nil || d.state.GetVersion() != 10 {
		t.Fatalf("alice got %+v / %+v", d.typed, d.state)
	}
}
