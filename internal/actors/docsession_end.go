package actors

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/internal/document"
	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A session ends when its time to live passed after the last editor left
// (sweep), or at once through the REST API (EndDocumentSession: DELETE
// collaborations/{id}, or the document removed for good). Its editors are
// told (a deleted StateUpdate: the client opens the document anew to
// join a new session) and detached; collaboration.document.removed is
// journaled and handed to the outbox; then the journal goes. Meanwhile
// the session takes no request: they wait, and are handled by the new,
// empty session after.

// Reasons of collaboration.document.removed.
const (
	EndExpired         = "expired"
	EndDeleted         = "deleted"
	EndDocumentRemoved = "document_removed"
)

// held is a request that waits for the session's removal to finish.
type held struct {
	msg    any
	sender *actor.PID
}

// maxHeld bounds the requests that wait for a removal (which waits for
// the outbox): past it they are refused.
const maxHeld = 1024

// holdWhileRemoving keeps a request for after the removal; false when
// the session is not being removed.
func (a *docSessionActor) holdWhileRemoving(ctx actor.Context) bool {
	if !a.removing {
		return false
	}
	if len(a.held) < maxHeld {
		a.held = append(a.held, held{msg: ctx.Message(), sender: ctx.Sender()})
		return true
	}
	const busy = "the document's session is being removed: try again"
	switch m := ctx.Message().(type) {
	case *opsyncpb.SubmitDocumentOps, *opsyncpb.SubmitDocumentSnapshot:
		respond(ctx, &opsyncpb.DocumentAnswer{Code: document.CodeSystemError, Detail: busy})
	case *opsyncpb.EndDocumentSession:
		respond(ctx, &opsyncpb.DocumentCollaboration{Code: document.CodeSystemError, Detail: busy})
	case *opsyncpb.StateSubscribe:
		// Told as the removed session's editors are: the client opens
		// the document again.
		respond(ctx, &opsyncpb.StateSubscribed{Source: a.identity})
		ctx.Send(hubFor(m.ClientAddress, a.identity), &opsyncpb.HubDeliveries{Stream: a.identity, ClientIds: []string{m.ClientId},
			State: &opsyncpb.StateUpdate{Kind: document.StateKind, Id: a.documentID(), Version: a.latest + 1, Deleted: true}})
	default:
		respond(ctx, a.info())
	}
	return true
}

// exists reports whether the document has a session: an editor, or data.
func (a *docSessionActor) exists() bool {
	return !a.gone && (len(a.editors) > 0 || !a.j.state.Empty())
}

func (a *docSessionActor) onEnd(ctx actor.Context, m *opsyncpb.EndDocumentSession) {
	if !a.exists() {
		respond(ctx, &opsyncpb.DocumentCollaboration{})
		return
	}
	reason := m.Reason
	if reason == "" {
		reason = EndDeleted
	}
	// Editors are told and detached first: nothing they send after is
	// taken by this session.
	if len(a.editors) > 0 {
		a.publishEnded(ctx)
		for _, e := range a.editors {
			ctx.Unwatch(e.pid)
		}
		metrics.DocEditors.Sub(float64(len(a.editors)))
		a.editors = map[string]*blockViewer{}
	}
	sender := ctx.Sender()
	a.remove(ctx, reason, func(ctx actor.Context) {
		sendTo(ctx, sender, &opsyncpb.DocumentCollaboration{Exists: true})
	})
}

// remove announces the session's removal, then removes its data once the
// outbox has the announcement, then runs then.
func (a *docSessionActor) remove(ctx actor.Context, reason string, then func(ctx actor.Context)) {
	a.removing = true
	if a.stopTimer != nil {
		a.stopTimer()
		a.stopTimer = nil
	}
	if a.updateTimer != nil {
		a.updateTimer()
		a.updateTimer = nil
	}
	version := a.latest
	a.announce(ctx, HookDocumentRemoved, map[string]any{"document": map[string]any{"version": version}, "reason": reason}, func(ctx actor.Context) {
		a.j.log.Info("document session ended: its operations and snapshots are removed", slog.String("reason", reason), slog.Uint64("version", version))
		a.j.removeJournal(false)
		a.j.state = a.j.state.Cleared()
		a.latest, a.announced = 0, 0
		a.removing = false
		if then != nil {
			then(ctx)
		}
		// The requests that waited go to the new session, in order.
		for _, h := range a.held {
			ctx.RequestWithCustomSender(ctx.Self(), h.msg, h.sender)
		}
		a.held = nil
	})
}

// publishEnded tells the editors that the session ended.
func (a *docSessionActor) publishEnded(ctx actor.Context) {
	up := &opsyncpb.StateUpdate{Kind: document.StateKind, Id: a.documentID(), Version: a.latest + 1, Deleted: true}
	fanOut(ctx, a.identity, a.editors, func(ids []string) *opsyncpb.HubDeliveries {
		return &opsyncpb.HubDeliveries{Stream: a.identity, ClientIds: ids, State: up}
	})
}

// collaboration is the session as the REST API shows it.
func (a *docSessionActor) collaboration() *opsyncpb.DocumentCollaboration {
	if !a.exists() {
		return &opsyncpb.DocumentCollaboration{}
	}
	n, _ := a.j.state.Ops()
	return &opsyncpb.DocumentCollaboration{Exists: true, Version: a.j.state.Version(), Users: a.users(), Snapshot: a.j.state.Snapshot(),
		Ops: uint32(n), UpdatedAt: a.j.state.UpdatedAt()}
}
