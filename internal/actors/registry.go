package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// KindRegistry is the cluster kind of the instance registry; its one
// actor has the identity RegistryIdentity.
const (
	KindRegistry     = "registry"
	RegistryIdentity = "instances"
)

// RegistryKind is the cluster kind of the instance registry: the list of
// instances administrators created (an instance actor only knows itself).
func RegistryKind(d *Deps) *cluster.Kind {
	deps := d.withDefaults()
	return cluster.NewKind(KindRegistry, actor.PropsFromProducer(func() actor.Actor {
		return &registryActor{j: newJournaled(deps, KindRegistry, func(s *state.Registry) proto.Message { return s.Snapshot() })}
	}))
}

type registryActor struct {
	j *journaled[*state.Registry]
	// registering are the ids whose InstanceRegistered is being written,
	// with whoever waits for it.
	registering map[string][]*actor.PID
}

func (a *registryActor) Receive(ctx actor.Context) {
	if a.j.receive(ctx) {
		return
	}
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		a.registering = map[string][]*actor.PID{}
		if a.j.recover(ctx, m, state.NewRegistry, restoreWith(func() *opsyncpb.RegistrySnapshot { return &opsyncpb.RegistrySnapshot{} }, state.RestoreRegistry)) != nil {
			ctx.Stop(ctx.Self())
			return
		}
		ctx.SetReceiveTimeout(a.j.deps.PassivateAfter)
	case *opsyncpb.RegisterInstance:
		a.register(ctx, m.InstanceId)
	case *opsyncpb.ListInstances:
		ctx.Respond(&opsyncpb.InstanceList{Instances: a.j.state.Instances()})
	case *actor.ReceiveTimeout:
		if a.j.idle() {
			ctx.Stop(ctx.Self())
		}
	}
}

// register adds id (once) and answers whether it is registered, once that
// is durable.
func (a *registryActor) register(ctx actor.Context, id string) {
	switch {
	case a.j.state.Has(id):
		respond(ctx, &opsyncpb.RegistryResult{Ok: true})
		return
	case id == "":
		respond(ctx, &opsyncpb.RegistryResult{Ok: false})
		return
	}
	waiting, writing := a.registering[id]
	a.registering[id] = append(waiting, ctx.Sender())
	if writing {
		return
	}
	ev := &opsyncpb.Event{Time: a.j.deps.now().UnixMilli(), Kind: &opsyncpb.Event_InstanceRegistered{InstanceRegistered: &opsyncpb.InstanceRegistered{InstanceId: id}}}
	a.j.persist(ctx, &pending{ev: ev, done: func(ctx actor.Context, _ uint64, err error) {
		for _, pid := range a.registering[id] {
			sendTo(ctx, pid, &opsyncpb.RegistryResult{Ok: err == nil})
		}
		delete(a.registering, id)
	}})
	a.j.flush()
}
