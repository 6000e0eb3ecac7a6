package actors

import (
	"maps"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// cardTest is one card actor over a test store and fake clock.
type cardTest struct {
	t      *testing.T
	system *actor.ActorSystem
	deps   *Deps
	pid    *actor.PID
}

const testCard = testInstance + "/c/card-1"

func newCardTest(t *testing.T, snapshotEvery int) *cardTest {
	d := (&Deps{Store: newTestStore(), Clock: newFakeClock(), Logger: quiet, SnapshotEvery: snapshotEvery}).withDefaults()
	h := &cardTest{t: t, system: newSystem(t), deps: d}
	h.start()
	return h
}

func (h *cardTest) start() {
	deps := h.deps
	h.pid = spawnGrain(h.system, actor.PropsFromProducer(func() actor.Actor { return newCardActor(deps) }), testCard, KindCard)
}

func (h *cardTest) restart() {
	if err := h.system.Root.StopFuture(h.pid).Wait(); err != nil {
		h.t.Fatal(err)
	}
	h.start()
}

func (h *cardTest) ask(msg proto.Message) *opsyncpb.CardAnswer {
	h.t.Helper()
	return request[*opsyncpb.CardAnswer](h.t, h.system, h.pid, msg)
}

func (h *cardTest) viewer(user string) *fakeViewer {
	v := &fakeViewer{got: make(chan *hubDelivery, 64)}
	v.pid = h.system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if d, ok := ctx.Message().(*hubDelivery); ok {
			v.got <- d
		}
	}))
	request[*opsyncpb.StateSubscribed](h.t, h.system, h.pid, &opsyncpb.StateSubscribe{ClientAddress: v.pid.Address, ClientId: v.pid.Id, UserId: user})
	return v
}

// view decodes the next frame a viewer gets.
func (v *fakeViewer) view(t *testing.T) (*opsyncpb.StateUpdate, *opsyncpb.CardView) {
	t.Helper()
	d := v.next(t)
	if d.state == nil {
		t.Fatalf("got %+v, not a state update", d)
	}
	cv := &opsyncpb.CardView{}
	if err := proto.Unmarshal(d.state.Data, cv); err != nil {
		t.Fatal(err)
	}
	return d.state, cv
}

func (v *fakeViewer) none(t *testing.T) {
	t.Helper()
	select {
	case d := <-v.got:
		t.Fatalf("the viewer got %+v, want nothing", d.state)
	case <-time.After(50 * time.Millisecond):
	}
}

func kv(pairs ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return m
}

func newCard() *opsyncpb.CreateCard {
	return &opsyncpb.CreateCard{Card: &opsyncpb.Card{CardTemplateId: "tpl", UserId: "alice", PublicData: kv("title", "hello", "n", "1"),
		PrivateData: map[string]*opsyncpb.CardParams{"bob": {CardParamMap: kv("n", "bob-1")}}}}
}

// Create, update, deliver: the codes, and all of it survives a restart
// (from the journal, and from a snapshot).
func TestCardCommands(t *testing.T) {
	for _, snapEvery := range []int{1000, 2} {
		h := newCardTest(t, snapEvery)
		steps := []struct {
			msg     proto.Message
			code    string
			version uint64
		}{
			{&opsyncpb.GetCard{}, CardNotFound, 0},
			{&opsyncpb.UpdateCard{HasCardData: true}, CardNotFound, 0},
			{&opsyncpb.DeliverCard{UserIds: []string{"dave"}}, CardNotFound, 0},
			{newCard(), "", 1},
			{newCard(), CardAlreadyExists, 0},
			{&opsyncpb.UpdateCard{HasCardData: true, CardParamMap: kv("n", "2"), MergeCardData: true}, "", 2},
			{&opsyncpb.UpdateCard{PrivateData: map[string]*opsyncpb.CardParams{"carol": {CardParamMap: kv("x", "c")}}}, "", 3},
			{&opsyncpb.DeliverCard{UserIds: []string{"dave", "dave"}}, "", 3},
			{&opsyncpb.UpdateCard{}, "", 3},
		}
		for i, s := range steps {
			a := h.ask(s.msg)
			if a.Code != s.code || a.Card.GetVersion() != s.version {
				t.Fatalf("snapshot every %d, step %d: %+v, want code %q version %d", snapEvery, i, a, s.code, s.version)
			}
		}
		h.restart()
		a := h.ask(&opsyncpb.GetCard{UserId: "dave"})
		c := a.Card
		if c.Version != 3 || !maps.Equal(c.PublicData, kv("title", "hello", "n", "2")) || len(c.PrivateData) != 2 ||
			len(c.Delivered) != 1 || !a.Recipient || c.OutTrackId != "card-1" {
			t.Fatalf("snapshot every %d: after a restart %+v", snapEvery, a)
		}
		if a := h.ask(&opsyncpb.GetCard{UserId: "eve"}); a.Recipient {
			t.Fatal("eve is a recipient")
		}
	}
}

// Viewing: each user gets their own view, public updates reach all,
// private data only its owner; a non-recipient gets the refusal and
// nothing after it.
func TestCardViewers(t *testing.T) {
	h := newCardTest(t, 1000)
	stranger := h.viewer("alice") // before the card exists: refused
	if up := stranger.next(t).state; up.Version != 0 || !up.Deleted {
		t.Fatalf("an unknown card answered %+v", up)
	}
	h.ask(newCard())
	alice, bob, eve := h.viewer("alice"), h.viewer("bob"), h.viewer("eve")
	if _, v := alice.view(t); !maps.Equal(v.CardParamMap, kv("title", "hello", "n", "1")) || len(v.PrivateKeys) != 0 {
		t.Fatalf("alice's first view %+v", v)
	}
	if _, v := bob.view(t); !maps.Equal(v.CardParamMap, kv("title", "hello", "n", "bob-1")) || v.PrivateKeys[0] != "n" {
		t.Fatalf("bob's first view %+v", v)
	}
	if up := eve.next(t).state; up.Version != 0 || !up.Deleted || up.Data != nil {
		t.Fatalf("a non-recipient got %+v", up)
	}
	// A public update reaches both, each with their own private data.
	h.ask(&opsyncpb.UpdateCard{HasCardData: true, CardParamMap: kv("title", "new")})
	if up, v := alice.view(t); up.Version != 2 || !maps.Equal(v.CardParamMap, kv("title", "new")) {
		t.Fatalf("alice after a replace: %+v", v)
	}
	if _, v := bob.view(t); !maps.Equal(v.CardParamMap, kv("title", "new", "n", "bob-1")) {
		t.Fatalf("bob after a replace: %+v", v)
	}
	// Bob's private update reaches bob only.
	h.ask(&opsyncpb.UpdateCard{PrivateData: map[string]*opsyncpb.CardParams{"bob": {CardParamMap: kv("secret", "s")}}, MergePrivateData: true})
	if up, v := bob.view(t); up.Version != 3 || !maps.Equal(v.CardParamMap, kv("title", "new", "n", "bob-1", "secret", "s")) {
		t.Fatalf("bob after a private merge: %+v", v)
	}
	alice.none(t)
	eve.none(t)
	stranger.none(t)
	// A viewer that closes gets nothing more.
	h.system.Root.Send(h.pid, &opsyncpb.StateUnsubscribe{ClientAddress: bob.pid.Address, ClientId: bob.pid.Id})
	h.ask(&opsyncpb.UpdateCard{HasCardData: true, CardParamMap: kv("title", "3")})
	if up, _ := alice.view(t); up.Version != 4 {
		t.Fatalf("alice got version %d", up.Version)
	}
	bob.none(t)
}

// A delivered user becomes a recipient and may open the card.
func TestCardDeliveredUserSees(t *testing.T) {
	h := newCardTest(t, 1000)
	h.ask(newCard())
	h.ask(&opsyncpb.DeliverCard{UserIds: []string{"dave"}})
	if _, v := h.viewer("dave").view(t); !maps.Equal(v.CardParamMap, kv("title", "hello", "n", "1")) {
		t.Fatalf("dave's view %+v", v)
	}
}
