package actors

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/document"
	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A document's editors: the client actors that opened it (StateSubscribe,
// as a block's viewers). A joiner gets the latest snapshot and every
// operation after it, then each accepted batch; all through the hub shard
// of the document's identity on the editor's node, so in version order.
// When the last editor leaves, the session's time to live starts.

func (a *docSessionActor) onSubscribe(ctx actor.Context, m *opsyncpb.StateSubscribe) {
	pid := actor.NewPID(m.ClientAddress, m.ClientId)
	k := viewerKey(pid)
	if a.gone {
		// A version 0 deletion: the client passes it on and attaches no
		// more.
		respond(ctx, &opsyncpb.StateSubscribed{Source: a.identity})
		ctx.Send(hubFor(pid.Address, a.identity), &opsyncpb.HubDeliveries{Stream: a.identity, ClientIds: []string{pid.Id},
			State: &opsyncpb.StateUpdate{Kind: document.StateKind, Id: a.documentID(), Deleted: true}})
		return
	}
	e := a.editors[k]
	if e == nil {
		joined := !a.hasUser(m.UserId)
		e = &blockViewer{pid: pid, user: m.UserId}
		a.editors[k] = e
		ctx.Watch(pid)
		metrics.DocEditors.Inc()
		if joined {
			a.announceUser(ctx, HookUserConnected, m.UserId)
		}
	}
	e.user = m.UserId
	if a.stopTimer != nil {
		a.stopTimer()
		a.stopTimer = nil
	}
	a.leftAt = time.Time{}
	respond(ctx, &opsyncpb.StateSubscribed{Source: a.identity})
	if v := a.j.state.Version(); v > m.HaveVersion {
		a.publish(ctx, v, a.j.state.Joiner(), map[string]*blockViewer{k: e})
	}
}

func (a *docSessionActor) dropEditor(ctx actor.Context, pid *actor.PID) {
	k := viewerKey(pid)
	e, ok := a.editors[k]
	if !ok {
		return
	}
	delete(a.editors, k)
	ctx.Unwatch(pid)
	metrics.DocEditors.Dec()
	if !a.hasUser(e.user) {
		a.announceUser(ctx, HookUserDisconnected, e.user)
	}
	if len(a.editors) > 0 {
		return
	}
	// The last editor left: what the session's version became is
	// announced now.
	a.announceUpdated(ctx)
	a.leftAt = a.j.deps.now()
	if a.stopTimer != nil {
		a.stopTimer()
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	a.stopTimer = a.j.deps.Clock.AfterFunc(a.j.deps.DocumentSessionTTL, func() { root.Send(self, &sessionExpiry{}) })
}

// sweep removes the session's data when no editor is connected and the
// time to live has passed since the last left (or, after a restart or a
// passivation, since the session last changed).
func (a *docSessionActor) sweep(ctx actor.Context) {
	if len(a.editors) > 0 || !a.j.state.Held() || len(a.queued) > 0 || a.removing || a.gone {
		return
	}
	since := time.UnixMilli(a.j.state.UpdatedAt())
	if a.leftAt.After(since) {
		since = a.leftAt
	}
	if wait := a.j.deps.DocumentSessionTTL - a.j.deps.now().Sub(since); wait > 0 {
		if a.stopTimer == nil && !a.leftAt.IsZero() {
			// A change after the last editor left: the time to live
			// counts from it.
			self, root := ctx.Self(), ctx.ActorSystem().Root
			a.stopTimer = a.j.deps.Clock.AfterFunc(wait, func() { root.Send(self, &sessionExpiry{}) })
		}
		return
	}
	a.j.log.Info("document session expired", slog.Uint64("version", a.j.state.Version()))
	a.remove(ctx, EndExpired, nil)
}

// publish sends a document update at version to editors.
func (a *docSessionActor) publish(ctx actor.Context, version uint64, u *opsyncpb.DocumentUpdate, editors map[string]*blockViewer) {
	if len(editors) == 0 {
		return
	}
	data, err := proto.Marshal(u)
	if err != nil {
		a.j.log.Warn("document update not encodable")
		return
	}
	up := &opsyncpb.StateUpdate{Kind: document.StateKind, Id: a.documentID(), Version: version, Data: data}
	fanOut(ctx, a.identity, editors, func(ids []string) *opsyncpb.HubDeliveries {
		return &opsyncpb.HubDeliveries{Stream: a.identity, ClientIds: ids, State: up}
	})
}
