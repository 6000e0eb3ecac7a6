package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A block's viewers: the client actors that opened it (StateSubscribe).
// Versions and typed messages go to them grouped by node: one
// HubDeliveries per node, to the hub shard of the block's identity, so
// that a node's viewers get a block's messages in the order it sent them.

func viewerKey(pid *actor.PID) string { return pid.Address + "/" + pid.Id }

func (a *blockActor) onSubscribe(ctx actor.Context, m *opsyncpb.StateSubscribe) {
	pid := actor.NewPID(m.ClientAddress, m.ClientId)
	k := viewerKey(pid)
	v := a.viewers[k]
	if v == nil {
		v = &blockViewer{pid: pid}
		a.viewers[k] = v
		ctx.Watch(pid)
		metrics.BlockViewers.Inc()
	}
	v.user = m.UserId
	respond(ctx, &opsyncpb.StateSubscribed{Source: a.identity})
	// The current version, unless the client has it: later ones follow as
	// they are journaled, after this one (same hub shard, same order).
	if e := a.j.state.Entity(); e != nil && e.Version > m.HaveVersion {
		a.publish(ctx, e, map[string]*blockViewer{k: v})
	}
}

func (a *blockActor) dropViewer(ctx actor.Context, pid *actor.PID) {
	k := viewerKey(pid)
	if _, ok := a.viewers[k]; !ok {
		return
	}
	delete(a.viewers, k)
	ctx.Unwatch(pid)
	metrics.BlockViewers.Dec()
}

// publish sends a version of the block to viewers.
func (a *blockActor) publish(ctx actor.Context, e *opsyncpb.BlockEntity, viewers map[string]*blockViewer) {
	if len(viewers) == 0 {
		return
	}
	data, err := proto.Marshal(e)
	if err != nil {
		a.j.log.Warn("block version not encodable")
		return
	}
	up := &opsyncpb.StateUpdate{Kind: StateKindBlock, Id: e.BlockId, Version: e.Version, Data: data, Deleted: e.Deleted}
	n := fanOut(ctx, a.identity, viewers, func(ids []string) *opsyncpb.HubDeliveries {
		return &opsyncpb.HubDeliveries{Stream: a.identity, ClientIds: ids, State: up}
	})
	metrics.BlockDeliveries.WithLabelValues("state").Add(float64(n))
}

// onTyped sends a typed message to the viewers of the listed users; it
// answers how many connections it was sent to.
func (a *blockActor) onTyped(ctx actor.Context, m *opsyncpb.SendTypedMessage) {
	if !a.j.state.Exists() {
		respond(ctx, &opsyncpb.TypedMessageSent{Code: BlockNotFound, Detail: a.notFound().Detail})
		return
	}
	users := make(map[string]bool, len(m.UserIds))
	for _, u := range m.UserIds {
		users[u] = true
	}
	to := map[string]*blockViewer{}
	for k, v := range a.viewers {
		if v.user != "" && users[v.user] {
			to[k] = v
		}
	}
	msg := proto.Clone(m.Message).(*opsyncpb.TypedMessage)
	msg.Kind, msg.Id = StateKindBlock, a.blockID()
	n := fanOut(ctx, a.identity, to, func(ids []string) *opsyncpb.HubDeliveries {
		return &opsyncpb.HubDeliveries{Stream: a.identity, ClientIds: ids, TypedMessage: msg}
	})
	metrics.BlockTypedMessages.Inc()
	metrics.BlockDeliveries.WithLabelValues("typed").Add(float64(n))
	respond(ctx, &opsyncpb.TypedMessageSent{Devices: uint32(n)})
}
