package actors

import (
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A state subscription: a client opens a source and gets its current
// version, then every newer one, never an older one after a newer; after
// Close nothing more; opened again, the current version again.

const testSourceKind = "testsource"

func init() {
	RegisterStateKind(StateKind{Name: "test", ClusterKind: testSourceKind,
		Identity: func(instanceID, id string) string { return instanceID + "/t/" + id },
		ValidID:  func(id string) bool { return id != "" }})
}

// fakeSource plays a state source: it answers subscriptions with its
// current version (unless the client has it) and publishes through the
// hub, as a block entity will.
type fakeSource struct {
	mu       sync.Mutex
	system   *actor.ActorSystem
	identity string
	id       string
	version  uint64
	subs     map[string]string // client id -> address
	events   chan sourceEvent
}

// sourceEvent is what the source saw: "subscribe" (with the client's
// version) or "unsubscribe".
type sourceEvent struct {
	what string
	have uint64
}

func (s *fakeSource) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *opsyncpb.StateSubscribe:
		s.mu.Lock()
		s.subs[m.ClientId] = m.ClientAddress
		v := s.version
		s.mu.Unlock()
		ctx.Respond(&opsyncpb.StateSubscribed{Source: s.identity})
		if v > m.HaveVersion {
			s.send(v, map[string]string{m.ClientId: m.ClientAddress})
		}
		s.events <- sourceEvent{"subscribe", m.HaveVersion}
	case *opsyncpb.StateUnsubscribe:
		s.mu.Lock()
		delete(s.subs, m.ClientId)
		s.mu.Unlock()
		s.events <- sourceEvent{"unsubscribe", 0}
	}
}

// send hands version v to the hub of each subscriber's node.
func (s *fakeSource) send(v uint64, to map[string]string) {
	byNode := map[string][]string{}
	for id, addr := range to {
		byNode[addr] = append(byNode[addr], id)
	}
	for addr, ids := range byNode {
		s.system.Root.Send(hubFor(addr, s.identity), &opsyncpb.HubDeliveries{Stream: s.identity, ClientIds: ids,
			State: &opsyncpb.StateUpdate{Kind: "test", Id: s.id, Version: v, Data: []byte{byte(v)}}})
	}
}

// publish makes v the current version and sends it to the subscribers.
func (s *fakeSource) publish(v uint64) {
	s.mu.Lock()
	s.version = v
	subs := make(map[string]string, len(s.subs))
	for k, a := range s.subs {
		subs[k] = a
	}
	s.mu.Unlock()
	s.send(v, subs)
}

func (s *fakeSource) await(t *testing.T, what string) sourceEvent {
	t.Helper()
	select {
	case e := <-s.events:
		if e.what != what {
			t.Fatalf("the source saw %s, want %s", e.what, what)
		}
		return e
	case <-time.After(awaitTimeout):
		t.Fatalf("the source saw no %s", what)
		return sourceEvent{}
	}
}

func TestClientStateSubscription(t *testing.T) {
	var src *fakeSource
	var ct *clientTest
	ct = startClientTestWith(t, 10, map[string]uint64{"A": 0}, true, func(identity string) *actor.PID {
		return ct.system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return src }))
	})
	src = &fakeSource{system: ct.system, identity: testInstance + "/t/x", id: "x", version: 3, subs: map[string]string{}, events: make(chan sourceEvent, 16)}
	open := &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Open{Open: &opsyncpb.Open{Kind: "test", Id: "x"}}}
	closeFrame := &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Close{Close: &opsyncpb.Close{Kind: "test", Id: "x"}}}

	ct.client.Handle(open)
	if e := src.await(t, "subscribe"); e.have != 0 {
		t.Fatalf("a first open says it has version %d", e.have)
	}
	ct.sink.expectFrames("test/x v3") // the current version
	src.publish(4)
	src.publish(5)
	ct.sink.expectFrames("test/x v4", "test/x v5")
	src.send(4, map[string]string{ct.client.pid.Id: ct.system.Address()}) // late and older: dropped
	src.publish(6)
	ct.sink.expectFrames("test/x v6")

	ct.client.Handle(closeFrame)
	src.await(t, "unsubscribe") // the source sends it nothing more
	src.publish(7)
	ct.client.Handle(open) // opened again: the current version, once
	if e := src.await(t, "subscribe"); e.have != 0 {
		t.Fatalf("a reopen says it has version %d", e.have)
	}
	ct.sink.expectFrames("test/x v7")
	src.publish(8)
	ct.sink.expectFrames("test/x v8")
}

// A source's first word may be its version 0 (a document's records send
// a live mark before any change): it is passed on once, and a version 0
// after it is as old as any other.
func TestClientStatePassesAFirstVersionZeroOnce(t *testing.T) {
	var src *fakeSource
	var ct *clientTest
	ct = startClientTestWith(t, 10, map[string]uint64{"A": 0}, true, func(identity string) *actor.PID {
		return ct.system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return src }))
	})
	src = &fakeSource{system: ct.system, identity: testInstance + "/t/x", id: "x", subs: map[string]string{}, events: make(chan sourceEvent, 16)}
	ct.client.Handle(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Open{Open: &opsyncpb.Open{Kind: "test", Id: "x"}}})
	src.await(t, "subscribe")
	me := map[string]string{ct.client.pid.Id: ct.system.Address()}
	src.send(0, me)
	src.send(0, me) // dropped
	src.publish(1)
	ct.sink.expectFrames("test/x v0", "test/x v1")
}
