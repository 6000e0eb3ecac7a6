package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A client's state subscriptions: a source opened with Open sends its
// current version, then every newer one; the client actor passes each on
// unless the client has a newer one already. No sync point, window or
// acks: the latest version is what counts.

// stateLink is the client's attachment to one state source.
type stateLink struct {
	kind     StateKind
	id       string
	identity string
	pid      *actor.PID
	version  uint64 // the newest version passed on to the client
	passed   bool   // a version was passed on (version 0 included)
	// refused: the source answered that the client may not see it (a
	// version 0 deletion, e.g. a card the user is not a recipient of):
	// that answer was passed on, nothing after it is, and the link is not
	// attached again.
	refused bool
}

// stream is the name of the source's deliveries: the client's states
// are keyed by it.
func (l *stateLink) stream() string { return l.kind.Stream(l.identity) }

// resubscribeState is the local message that retries attaching to a
// state source.
type resubscribeState struct{ link *stateLink }

func (a *clientActor) onOpen(ctx actor.Context, m *opsyncpb.Open) {
	kind, ok := LookupStateKind(m.Kind)
	if !ok {
		return // the edge refuses unknown kinds; nothing to do here
	}
	identity := kind.Identity(a.p.InstanceID, m.Id)
	if a.states[kind.Stream(identity)] != nil {
		return
	}
	l := &stateLink{kind: kind, id: m.Id, identity: identity}
	a.states[l.stream()] = l
	a.subscribeState(ctx, l)
}

func (a *clientActor) onClose(ctx actor.Context, m *opsyncpb.Close) {
	kind, ok := LookupStateKind(m.Kind)
	if !ok {
		return
	}
	stream := kind.Stream(kind.Identity(a.p.InstanceID, m.Id))
	l := a.states[stream]
	if l == nil {
		return
	}
	delete(a.states, stream)
	if l.pid != nil {
		ctx.Unwatch(l.pid)
		ctx.Send(l.pid, &opsyncpb.StateUnsubscribe{ClientAddress: ctx.Self().Address, ClientId: ctx.Self().Id})
	}
}

// subscribeState attaches to the source wherever the cluster has it,
// telling it the version the client has.
func (a *clientActor) subscribeState(ctx actor.Context, l *stateLink) {
	pid := a.cl.Get(l.identity, l.kind.ClusterKind)
	if pid == nil {
		a.retryStateLater(ctx, l)
		return
	}
	if l.pid == nil || !l.pid.Equal(pid) {
		ctx.Watch(pid)
	}
	l.pid = pid
	ctx.Request(pid, &opsyncpb.StateSubscribe{ClientAddress: ctx.Self().Address, ClientId: ctx.Self().Id,
		UserId: a.p.UserID, DeviceId: a.p.DeviceID, HaveVersion: l.version})
}

// onState passes a version of a source on, unless it is not newer than
// what the client has (or the source is closed). A typed message of an
// open source is passed on as it is: its version is the application's,
// ordered by the client library, not by the source's versions.
func (a *clientActor) onState(m *hubDelivery) {
	l := a.states[m.stream]
	if l == nil || m.frame == nil {
		return
	}
	if l.refused {
		return
	}
	if m.state != nil {
		switch {
		case m.state.Version == 0 && m.state.Deleted && l.version == 0:
			l.refused = true
		case m.state.Deleted && l.kind.EndsLink:
			delete(a.states, m.stream)
		case m.state.Version == 0 && !l.passed:
			// A source's first word may be its version 0 (a document's
			// records live mark before any change): passed on once.
		case m.state.Version <= l.version:
			return
		default:
			l.version = m.state.Version
		}
		l.passed = true
	}
	if err := a.p.Sink.SendEncoded(m.frame, false); err != nil {
		a.gone(err)
	}
}

// stateTerminated attaches again to a source whose actor stopped (its node
// died, or it passivated): the cluster activates it anew.
func (a *clientActor) stateTerminated(ctx actor.Context, who *actor.PID) {
	for _, l := range a.states {
		if l.pid != nil && l.pid.Equal(who) && !l.refused {
			l.pid = nil
			a.retryStateLater(ctx, l)
		}
	}
}

// retryStateLater attaches to a state source again after resubscribeDelay.
func (a *clientActor) retryStateLater(ctx actor.Context, l *stateLink) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	a.p.Clock.AfterFunc(resubscribeDelay, func() { root.Send(self, &resubscribeState{link: l}) })
}
