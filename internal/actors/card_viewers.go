package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A card's viewers: the client actors of its recipients that opened it
// (StateSubscribe). Each user sees the public data with their own private
// data merged over it, so the card sends one StateUpdate per (node, user):
// one HubDeliveries to the hub shard of the card's identity on that node,
// which encodes it once for that user's connections there. No user's
// frame ever carries another's private data.

func (a *cardActor) onSubscribe(ctx actor.Context, m *opsyncpb.StateSubscribe) {
	pid := actor.NewPID(m.ClientAddress, m.ClientId)
	respond(ctx, &opsyncpb.StateSubscribed{Source: a.identity})
	if !a.j.state.IsRecipient(m.UserId) {
		// An unknown card and a card the user may not see get the same
		// answer, so that ids cannot be probed: version 0, deleted. The
		// viewer is not kept: nothing follows.
		a.refuse(ctx, pid)
		return
	}
	k := viewerKey(pid)
	v := a.viewers[k]
	if v == nil {
		v = &cardViewer{pid: pid}
		a.viewers[k] = v
		ctx.Watch(pid)
		metrics.CardViewers.Inc()
	}
	v.user = m.UserId
	// The current version, unless the client has it: later ones follow as
	// they are journaled, after this one (same hub shard, same order).
	if a.j.state.Version() > m.HaveVersion {
		a.publish(ctx, map[string]*cardViewer{k: v})
	}
}

// refuse sends a client the answer to an Open it may not see.
func (a *cardActor) refuse(ctx actor.Context, pid *actor.PID) {
	up := &opsyncpb.StateUpdate{Kind: StateKindCard, Id: a.outTrackID(), Deleted: true}
	ctx.Send(hubFor(pid.Address, a.identity), &opsyncpb.HubDeliveries{Stream: a.identity, ClientIds: []string{pid.Id}, State: up})
}

func (a *cardActor) dropViewer(ctx actor.Context, pid *actor.PID) {
	k := viewerKey(pid)
	if _, ok := a.viewers[k]; !ok {
		return
	}
	delete(a.viewers, k)
	ctx.Unwatch(pid)
	metrics.CardViewers.Dec()
}

// publish sends viewers the card as each one's user sees it now.
func (a *cardActor) publish(ctx actor.Context, viewers map[string]*cardViewer) {
	if len(viewers) == 0 {
		return
	}
	type group struct{ node, user string }
	groups := map[group][]string{}
	for _, v := range viewers {
		g := group{v.pid.Address, v.user}
		groups[g] = append(groups[g], v.pid.Id)
	}
	views := map[string]*opsyncpb.StateUpdate{}
	for g, ids := range groups {
		up := views[g.user]
		if up == nil {
			view := a.j.state.View(g.user)
			data, err := proto.Marshal(view)
			if err != nil {
				a.j.log.Warn("card view not encodable")
				return
			}
			up = &opsyncpb.StateUpdate{Kind: StateKindCard, Id: view.OutTrackId, Version: view.Version, Data: data}
			views[g.user] = up
		}
		ctx.Send(hubFor(g.node, a.identity), &opsyncpb.HubDeliveries{Stream: a.identity, ClientIds: ids, State: up})
		metrics.CardViews.Add(float64(len(ids)))
	}
}
