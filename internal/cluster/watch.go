package cluster

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// instanceWatch is the member's local actor named actors.InstanceWatchName:
// instance actors anywhere in the set send it InstanceChanged after they
// persisted a change, and it passes each notice to the member's
// subscribers (the push service's cache).
type instanceWatch struct{ subs *watchers }

func (w *instanceWatch) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*opsyncpb.InstanceChanged); ok {
		w.subs.notify(m.InstanceId, m.Version)
	}
}

// watchers are the callbacks registered with OnInstanceChanged.
type watchers struct {
	mu  sync.RWMutex
	fns []func(instanceID string, version uint64)
}

func (w *watchers) add(fn func(string, uint64)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fns = append(w.fns, fn)
}

func (w *watchers) notify(instanceID string, version uint64) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for _, fn := range w.fns {
		fn(instanceID, version)
	}
}

// spawnInstanceWatch starts the member's instance watch actor under its
// well-known name, so that other members reach it at
// actor.NewPID(thisAddress, actors.InstanceWatchName).
func spawnInstanceWatch(system *actor.ActorSystem, subs *watchers) (*actor.PID, error) {
	return system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &instanceWatch{subs: subs} }), actors.InstanceWatchName)
}

// OnInstanceChanged registers fn to be called with every InstanceChanged
// notice this member receives: an instance journaled a change (configs,
// keys, settings, creation) at version. Notices are best effort (one way,
// lost when a member is unreachable) and may come twice or late; fn runs
// on the watch actor and must not block.
func (m *Member) OnInstanceChanged(fn func(instanceID string, version uint64)) {
	m.watchers.add(fn)
}
