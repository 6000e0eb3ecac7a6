package actors

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A client actor learns that a stream it is attached to has stopped from
// the watch (Terminated). In a node set that is not enough: the word can
// fail to come (the stream's node died and protoactor never reports the
// address dead), and the set can move a stream's identity to another node
// (a node came back) while the old activation lives on, attached to its
// clients but sent no pushes. Either way the client would wait for live
// entries for the rest of its session. So every linkCheckInterval it looks
// up where the cluster routes each stream it is attached to, and asks that
// stream whether the client is attached there; a moved stream, one that
// does not answer within subscribeTimeout, or one that does not know the
// client is attached to again.

// linkCheckInterval is how often a client actor checks its streams.
const linkCheckInterval = 30 * time.Second

// checkLinks is the local message that starts a check of every link.
type checkLinks struct{}

// linkSilent reports a stream that did not answer a check.
type linkSilent struct {
	link *streamLink
	pid  *actor.PID
}

func (a *clientActor) scheduleLinkCheck(ctx actor.Context) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	a.p.Clock.AfterFunc(linkCheckInterval, func() { root.Send(self, &checkLinks{}) })
}

func (a *clientActor) onCheckLinks(ctx actor.Context) {
	if a.stopped {
		return
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	for _, l := range a.links {
		if l.pid == nil || !l.confirmed || l.backlogOnly {
			continue
		}
		// The set may have moved the stream's identity (a node came back):
		// the activation the client is attached to then gets no new
		// pushes, though it lives and knows the client. Attach to the
		// one the cluster routes to.
		if now := a.cl.Get(l.identity, KindStream); now != nil && !now.Equal(l.pid) {
			a.p.Logger.Warn("client: a stream moved, attaching to its new activation", slog.String("stream", l.identity),
				slog.String("from", l.pid.String()), slog.String("to", now.String()))
			a.reattach(ctx, l)
			continue
		}
		link, pid := l, l.pid
		f := root.RequestFuture(pid, &opsyncpb.StreamStatus{CheckClientAddress: self.Address, CheckClientId: self.Id}, subscribeTimeout)
		go func() {
			res, err := f.Result()
			if st, ok := res.(*opsyncpb.StreamStatusResult); err != nil || !ok || !st.Connected {
				root.Send(self, &linkSilent{link: link, pid: pid})
			}
		}()
	}
	a.scheduleLinkCheck(ctx)
}

func (a *clientActor) onLinkSilent(ctx actor.Context, m *linkSilent) {
	l := m.link
	if l.pid == nil || !l.pid.Equal(m.pid) || a.links[l.identity] != l {
		return // attached anew meanwhile
	}
	a.p.Logger.Warn("client: a stream did not answer a check or does not know the client, attaching again", slog.String("stream", l.identity), slog.String("pid", l.pid.String()))
	a.reattach(ctx, l)
}
