package actors

import (
	"errors"
	"slices"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// The instance actor answers reads from its state at once, also while a
// change is being written, and writes changes one at a time, in order.

// instanceTest is an instance actor ("inst", created) over a test store.
type instanceTest struct {
	t      *testing.T
	system *actor.ActorSystem
	store  *testStore
	clock  *fakeClock
	deps   *Deps
	pid    *actor.PID
	// created answered the creation: the only answer with the keys.
	created *opsyncpb.InstanceInfo
}

func newInstanceTest(t *testing.T) *instanceTest {
	t.Helper()
	store, clock := newTestStore(), newFakeClock()
	deps := (&Deps{Store: store, Clock: clock, Logger: quiet, MasterKey: testMasterKey}).withDefaults()
	h := &instanceTest{t: t, system: newSystem(t), store: store, clock: clock, deps: deps}
	h.pid = spawnGrain(h.system, actor.PropsFromProducer(func() actor.Actor { return newInstanceActor(deps) }), testInstance, KindInstance)
	r := request[*opsyncpb.InstanceResult](t, h.system, h.pid, &opsyncpb.CreateInstance{})
	if r.Code != ConfigOK {
		t.Fatalf("create instance: %s %s", r.Code, r.Message)
	}
	h.created = r.Instance
	return h
}

// config is a valid config of bizType described as desc.
func config(biz, desc string) *opsyncpb.BizTypeConfig {
	return &opsyncpb.BizTypeConfig{BizType: biz, Description: desc, Persistent: true, RetentionDays: 30, MaxRetries: 6}
}

func putConfig(biz, desc string) proto.Message {
	return &opsyncpb.PutBizType{Config: config(biz, desc)}
}

// read shows bizType A as the instance answers it now: "-" when absent,
// else its description and whether it is online.
func (h *instanceTest) read() string {
	h.t.Helper()
	a := request[*opsyncpb.BizTypeAnswer](h.t, h.system, h.pid, &opsyncpb.GetBizType{BizType: "A"})
	if !a.Found {
		return "-"
	}
	if !a.Config.Online {
		return a.Config.Description + " (offline)"
	}
	return a.Config.Description
}

// actions are the operation log's actions, oldest first.
func (h *instanceTest) actions() []string {
	h.t.Helper()
	ops := request[*opsyncpb.OperationList](h.t, h.system, h.pid, &opsyncpb.QueryOperations{}).Operations
	var out []string
	for i := len(ops) - 1; i >= 0; i-- { // newest first
		out = append(out, ops[i].Action)
	}
	return out
}

func TestInstanceReadDoesNotWaitForAWrite(t *testing.T) {
	cases := []struct {
		name   string
		before []proto.Message // applied first
		change proto.Message   // held in the journal while the read arrives
		during string          // what the read answers meanwhile
		after  string          // and once the change is durable
	}{
		{name: "a new bizType is not there yet", change: putConfig("A", "v1"), during: "-", after: "v1"},
		{name: "a modified config reads as it was", before: []proto.Message{putConfig("A", "v1")},
			change: putConfig("A", "v2"), during: "v1", after: "v2"},
		{name: "a deleted config is still there", before: []proto.Message{putConfig("A", "v1")},
			change: &opsyncpb.DeleteBizType{BizType: "A"}, during: "v1", after: "-"},
		{name: "a config taken offline is still online", before: []proto.Message{putConfig("A", "v1")},
			change: &opsyncpb.SetBizTypeOnline{BizType: "A", Online: false}, during: "v1", after: "v1 (offline)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newInstanceTest(t)
			for _, m := range c.before {
				if r := request[*opsyncpb.ConfigResult](t, h.system, h.pid, m); r.Code != ConfigOK {
					t.Fatalf("%T: %s %s", m, r.Code, r.Message)
				}
			}
			release := h.store.hold(t, "append").release
			change := h.system.Root.RequestFuture(h.pid, c.change, awaitTimeout)
			h.store.awaitHeld(t, "append")
			if got := h.read(); got != c.during {
				t.Fatalf("read during the change = %q, want %q", got, c.during)
			}
			release()
			if r := answer[*opsyncpb.ConfigResult](t, change); r.Code != ConfigOK {
				t.Fatalf("change: %s %s", r.Code, r.Message)
			}
			if got := h.read(); got != c.after {
				t.Fatalf("read after the change = %q, want %q", got, c.after)
			}
		})
	}
}

func TestInstanceChangesApplyInOrder(t *testing.T) {
	cases := []struct {
		name    string
		changes []proto.Message // the first is held in the journal while the others arrive
		codes   []string
		final   string
		actions []string // the operation log after CREATE_INSTANCE
	}{
		{name: "a change sees the config created before it",
			changes: []proto.Message{putConfig("A", "v1"), &opsyncpb.SetBizTypeOnline{BizType: "A", Online: false}},
			codes:   []string{ConfigOK, ConfigOK}, final: "v1 (offline)", actions: []string{"CREATE_CONFIG", "OFFLINE_CONFIG"}},
		{name: "a second put modifies the first",
			changes: []proto.Message{putConfig("A", "v1"), putConfig("A", "v2")},
			codes:   []string{ConfigOK, ConfigOK}, final: "v2", actions: []string{"CREATE_CONFIG", "MODIFY_CONFIG"}},
		{name: "a delete after a put",
			changes: []proto.Message{putConfig("A", "v1"), &opsyncpb.DeleteBizType{BizType: "A"}},
			codes:   []string{ConfigOK, ConfigOK}, final: "-", actions: []string{"CREATE_CONFIG", "DELETE_CONFIG"}},
		{name: "a put after a delete of nothing",
			changes: []proto.Message{&opsyncpb.DeleteBizType{BizType: "A"}, putConfig("A", "v1")},
			codes:   []string{ConfigNotFound, ConfigOK}, final: "v1", actions: []string{"CREATE_CONFIG"}},
		{name: "three in a row",
			changes: []proto.Message{putConfig("A", "v1"), &opsyncpb.SetBizTypeOnline{BizType: "A", Online: false}, putConfig("A", "v3")},
			codes:   []string{ConfigOK, ConfigOK, ConfigOK}, final: "v3 (offline)", actions: []string{"CREATE_CONFIG", "OFFLINE_CONFIG", "MODIFY_CONFIG"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newInstanceTest(t)
			release := h.store.hold(t, "append").release
			var futures []*actor.Future
			for i, m := range c.changes {
				futures = append(futures, h.system.Root.RequestFuture(h.pid, m, awaitTimeout))
				if i == 0 && c.codes[0] == ConfigOK {
					h.store.awaitHeld(t, "append")
				}
			}
			h.read() // every change has arrived
			release()
			var codes []string
			for _, f := range futures {
				codes = append(codes, answer[*opsyncpb.ConfigResult](t, f).Code)
			}
			if !slices.Equal(codes, c.codes) {
				t.Fatalf("answers %q, want %q", codes, c.codes)
			}
			if got := h.read(); got != c.final {
				t.Fatalf("A = %q, want %q", got, c.final)
			}
			if got := h.actions(); !slices.Equal(got, append([]string{"CREATE_INSTANCE"}, c.actions...)) {
				t.Fatalf("operation log %q, want CREATE_INSTANCE then %q", got, c.actions)
			}
		})
	}
}

// A change whose append fails fails the actor: it and every change waiting
// behind it are answered SYSTEM_ERROR at once (none is left to time out),
// and the next request activates the instance anew from its journal.
func TestInstanceFailureAnswersWaitingChanges(t *testing.T) {
	h := newInstanceTest(t)
	release := h.store.hold(t, "append").release
	first := h.system.Root.RequestFuture(h.pid, putConfig("A", "v1"), awaitTimeout)
	h.store.awaitHeld(t, "append")
	waiting := []*actor.Future{
		h.system.Root.RequestFuture(h.pid, putConfig("B", "v1"), awaitTimeout),
		h.system.Root.RequestFuture(h.pid, &opsyncpb.RotateInstanceKeys{}, awaitTimeout),
	}
	h.read() // both have arrived and wait behind the first
	h.store.FailAppends(errors.New("disk gone"))
	release()
	if r := answer[*opsyncpb.ConfigResult](t, first); r.Code != ConfigSystemError {
		t.Fatalf("the failed change answered %s", r.Code)
	}
	if r := answer[*opsyncpb.ConfigResult](t, waiting[0]); r.Code != ConfigSystemError {
		t.Fatalf("a change waiting behind it answered %s", r.Code)
	}
	if r := answer[*opsyncpb.InstanceResult](t, waiting[1]); r.Code != ConfigSystemError {
		t.Fatalf("a key rotation waiting behind it answered %s", r.Code)
	}
}
