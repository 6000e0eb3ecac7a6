package actors

import (
	"context"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/opsync/opsync/internal/metrics"
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
		return &registryActor{deps: deps}
	}))
}

type registryActor struct {
	deps      *Deps
	journal   string
	state     *state.Registry
	highest   uint64
	failed    bool
	sinceSnap int
}

func (a *registryActor) Receive(ctx actor.Context) {
	defer func() { // see instanceActor.Receive
		if a.failed {
			ctx.Stop(ctx.Self())
		}
	}()
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		a.journal = JournalID(KindRegistry, m.Identity.Identity)
		metrics.Activations.WithLabelValues(KindRegistry).Inc()
		state, highest, err := recoverState(context.Background(), a.deps.Store, a.journal, state.NewRegistry,
			func() *opsyncpb.RegistrySnapshot { return &opsyncpb.RegistrySnapshot{} }, state.RestoreRegistry)
		a.state, a.highest = state, highest
		if err != nil {
			a.deps.Logger.Error("registry recovery failed", slog.Any("err", err))
			a.failed = true
		}
		ctx.SetReceiveTimeout(a.deps.PassivateAfter)
	case *opsyncpb.RegisterInstance:
		ctx.Respond(&opsyncpb.RegistryResult{Ok: a.register(m.InstanceId)})
	case *opsyncpb.ListInstances:
		ctx.Respond(&opsyncpb.InstanceList{Instances: a.state.Instances()})
	case *actor.ReceiveTimeout:
		ctx.Stop(ctx.Self())
	}
}

// register adds id (once) and reports whether it is registered.
func (a *registryActor) register(id string) bool {
	if a.state.Has(id) {
		return true
	}
	if a.failed || id == "" {
		return false
	}
	ev := &opsyncpb.Event{Time: a.deps.Now().UnixMilli(), Kind: &opsyncpb.Event_InstanceRegistered{InstanceRegistered: &opsyncpb.InstanceRegistered{InstanceId: id}}}
	data, err := marshalEvents([]*opsyncpb.Event{ev})
	if err == nil {
		err = a.deps.Store.Append(context.Background(), a.journal, a.highest+1, data)
	}
	if err == nil {
		err = a.state.Apply(a.highest+1, ev)
	}
	if err != nil {
		a.deps.Logger.Error("registry append failed", slog.Any("err", err))
		a.failed = true
		return false
	}
	a.highest++
	a.sinceSnap++
	if a.sinceSnap >= a.deps.SnapshotEvery {
		if err := saveSnapshot(context.Background(), a.deps.Store, a.journal, a.state.LastSeq(), a.state.Snapshot()); err != nil {
			a.deps.Logger.Warn("registry snapshot failed", slog.Any("err", err))
		}
		a.sinceSnap = 0
	}
	return true
}
