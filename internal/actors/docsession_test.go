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

// docTest is one document session actor over a test store and fake clock.
type docTest struct {
	t      *testing.T
	system *actor.ActorSystem
	deps   *Deps
	store  *testStore
	clock  *fakeClock
	keys   fixedEnvKeys
	pid    *actor.PID
}

const testDoc = testInstance + "/d/doc-1"

func newDocTest(t *testing.T, snapshotEvery int) *docTest {
	store, clock := newTestStore(), newFakeClock()
	key, _ := NewEnvKey(map[uint32][]byte{1: bytes.Repeat([]byte{5}, 32)})
	keys := fixedEnvKeys{testInstance: key}
	d := (&Deps{Store: store, Clock: clock, Logger: quiet, SnapshotEvery: snapshotEvery, DocumentSessionTTL: time.Hour, EnvKeys: keys}).withDefaults()
	h := &docTest{t: t, system: newSystem(t), deps: d, store: store, clock: clock, keys: keys}
	h.start()
	return h
}

func (h *docTest) start() {
	deps := h.deps
	h.pid = spawnGrain(h.system, actor.PropsFromProducer(func() actor.Actor { return newDocSessionActor(deps) }), testDoc, KindDocSession)
}

func (h *docTest) restart() {
	if err := h.system.Root.StopFuture(h.pid).Wait(); err != nil {
		h.t.Fatal(err)
	}
	h.start()
}

func (h *docTest) send(user string, base uint64, ops ...string) *opsyncpb.DocumentAnswer {
	h.t.Helper()
	m := &opsyncpb.SubmitDocumentOps{UserId: user, BaseVersion: base}
	for _, o := range ops {
		m.Ops = append(m.Ops, []byte(o))
	}
	return request[*opsyncpb.DocumentAnswer](h.t, h.system, h.pid, m)
}

func (h *docTest) info() *opsyncpb.DocumentSessionInfo {
	return request[*opsyncpb.DocumentSessionInfo](h.t, h.system, h.pid, &opsyncpb.GetDocumentSession{})
}

// editor subscribes a fake client actor and returns what it receives.
func (h *docTest) editor(user string, have uint64) *fakeViewer {
	v := &fakeViewer{got: make(chan *hubDelivery, 64)}
	v.pid = h.system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if d, ok := ctx.Message().(*hubDelivery); ok {
			v.got <- d
		}
	}))
	request[*opsyncpb.StateSubscribed](h.t, h.system, h.pid, &opsyncpb.StateSubscribe{ClientAddress: v.pid.Address, ClientId: v.pid.Id, UserId: user, HaveVersion: have})
	return v
}

func docUpdate(t *testing.T, d *hubDelivery) *opsyncpb.DocumentUpdate {
	t.Helper()
	if d.state == nil || d.state.Kind != document.StateKind || d.state.Id != "doc-1" {
		t.Fatalf("not a document update: %+v", d.state)
	}
	var u opsyncpb.DocumentUpdate
	if err := proto.Unmarshal(d.state.Data, &u); err != nil {
		t.Fatal(err)
	}
	return &u
}

func opStrings(ops []*opsyncpb.DocOp) []string {
	var out []string
	for _, o := range ops {
		out = append(out, string(o.Data))
	}
	return out
}

// Ops are accepted only at the current version; a stale base gets the
// missed ops; versions survive a restart (journal and snapshot).
func TestDocSessionVersions(t *testing.T) {
	for _, snapEvery := range []int{1000, 2} {
		h := newDocTest(t, snapEvery)
		steps := []struct {
			user    string
			base    uint64
			ops     []string
			code    string
			version uint64
			missed  []string
		}{
			{"a", 0, []string{"a1"}, "", 1, nil},
			{"b", 0, []string{"b1"}, document.CodeRebase, 1, []string{"a1"}},
			{"c", 0, []string{"c1"}, document.CodeRebase, 1, []string{"a1"}},
			{"b", 1, []string{"b1", "b2"}, "", 3, nil},
			{"c", 1, []string{"c1"}, document.CodeRebase, 3, []string{"b1", "b2"}},
			{"c", 3, []string{"c1"}, "", 4, nil},
			{"a", 9, []string{"x"}, document.CodeInvalid, 4, nil},
			{"a", 4, nil, document.CodeInvalid, 4, nil},
		}
		for i, s := range steps {
			a := h.send(s.user, s.base, s.ops...)
			if a.Code != s.code || a.Version != s.version || !equalStrs(opStrings(a.Ops), s.missed) {
				t.Fatalf("snapshot every %d, step %d: %+v, want %q at %d missed %q", snapEvery, i, a, s.code, s.version, s.missed)
			}
		}
		h.restart()
		if a := h.send("a", 1, "late"); a.Code != document.CodeRebase || a.Version != 4 || !equalStrs(opStrings(a.Ops), []string{"b1", "b2", "c1"}) {
			t.Fatalf("snapshot every %d, after a restart: %+v", snapEvery, a)
		}
	}
}

// Editors get the joiner state (snapshot + later ops) at subscribe, then
// each accepted batch in version order; oversize ops are refused.
func TestDocSessionEditors(t *testing.T) {
	h := newDocTest(t, 0)
	h.send("a", 0, "1", "2", "3")
	a := request[*opsyncpb.DocumentAnswer](t, h.system, h.pid, &opsyncpb.SubmitDocumentSnapshot{Snapshot: &opsyncpb.DocSnapshot{Version: 2, Data: []byte("S2")}})
	if a.Code != "" || a.Version != 2 {
		t.Fatalf("snapshot: %+v", a)
	}
	if a := request[*opsyncpb.DocumentAnswer](t, h.system, h.pid, &opsyncpb.SubmitDocumentSnapshot{Snapshot: &opsyncpb.DocSnapshot{Version: 9, Data: []byte("S9")}}); a.Code != document.CodeInvalid {
		t.Fatalf("snapshot ahead: %+v", a)
	}
	e1, e2 := h.editor("a", 0), h.editor("b", 0)
	for _, e := range []*fakeViewer{e1, e2} {
		d := e.next(t)
		u := docUpdate(t, d)
		if d.state.Version != 3 || string(u.Snapshot.GetData()) != "S2" || !equalStrs(opStrings(u.Ops), []string{"3"}) {
			t.Fatalf("joiner got version %d %+v", d.state.Version, u)
		}
	}
	if a := h.send("b", 1, "x"); a.Code != document.CodeResync {
		t.Fatalf("a base before the snapshot: %+v", a)
	}
	h.send("a", 3, "4")
	h.send("b", 4, "5", "6")
	for _, e := range []*fakeViewer{e1, e2} {
		for _, want := range []struct {
			v   uint64
			ops []string
		}{{4, []string{"4"}}, {6, []string{"5", "6"}}} {
			d := e.next(t)
			if u := docUpdate(t, d); d.state.Version != want.v || !equalStrs(opStrings(u.Ops), want.ops) {
				t.Fatalf("got %d %q, want %d %q", d.state.Version, opStrings(u.Ops), want.v, want.ops)
			}
		}
	}
	if a := h.send("a", 6, string(make([]byte, document.MaxOpBytes+1))); a.Code != document.CodeTooLarge || h.info().Version != 6 {
		t.Fatalf("oversize op: %+v", a)
	}
	if i := h.info(); i.Editors != 2 || i.SnapshotVersion != 2 || i.Ops != 4 {
		t.Fatalf("info %+v", i)
	}
}

// The TTL after the last editor left, the session's data is removed from
// the journal; not while an editor is connected.
func TestDocSessionTTL(t *testing.T) {
	h := newDocTest(t, 0)
	e := h.editor("a", 0)
	h.send("a", 0, "1", "2")
	e.next(t)
	h.clock.Advance(2 * time.Hour)
	request[*opsyncpb.DocumentSessionInfo](t, h.system, h.pid, &opsyncpb.SweepDocumentSession{})
	if h.info().Version != 2 {
		t.Fatal("swept while an editor is connected")
	}
	journal := JournalID(KindDocSession, testDoc)
	if len(h.store.events(t, journal)) == 0 {
		t.Fatal("nothing journaled")
	}
	h.system.Root.Stop(e.pid) // the editor leaves: Terminated
	h.clock.awaitTimerWithin(t, time.Hour)
	h.clock.Advance(30 * time.Minute)
	if h.info().Version != 2 {
		t.Fatal("swept before the TTL")
	}
	h.clock.Advance(31 * time.Minute)
	h.store.await(t, "the journal removed", func() bool { return len(h.store.events(t, journal)) == 0 })
	if i := h.info(); i.Version != 0 || i.Ops != 0 {
		t.Fatalf("after the TTL %+v", i)
	}
	// A new session starts at version 1, and survives a restart as such.
	if a := h.send("b", 0, "n1"); a.Code != "" || a.Version != 1 {
		t.Fatalf("new session: %+v", a)
	}
	h.restart()
	if i := h.info(); i.Version != 1 {
		t.Fatalf("new session after a restart: %+v", i)
	}
}

// After a restart (no editor came back) the node's sweep removes a session
// whose last change is older than the TTL.
func TestDocSessionSweepAfterRestart(t *testing.T) {
	h := newDocTest(t, 0)
	h.send("a", 0, "1")
	h.restart()
	request[*opsyncpb.DocumentSessionInfo](t, h.system, h.pid, &opsyncpb.SweepDocumentSession{})
	if h.info().Version != 1 {
		t.Fatal("swept a fresh session")
	}
	h.clock.Advance(time.Hour + time.Second)
	if i := request[*opsyncpb.DocumentSessionInfo](t, h.system, h.pid, &opsyncpb.SweepDocumentSession{}); i.Version != 0 {
		t.Fatalf("not swept: %+v", i)
	}
	journal := JournalID(KindDocSession, testDoc)
	h.store.await(t, "the journal removed", func() bool { return len(h.store.events(t, journal)) == 0 })
	h.restart()
	if i := h.info(); i.Version != 0 {
		t.Fatalf("the swept session came back: %+v", i)
	}
}

func equalStrs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
