package actors

import (
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A client reads Connected as "I am online": a non-persistent push made
// after it must reach it, and such a push goes only to the clients its
// stream has attached. So the client actor writes Connected (the edge's
// frame, ClientParams.Connected) only once every stream it attaches to at
// start has answered its subscription (Subscribed: the stream lists the
// client), and the edge reads the client's frames only after it.
//
// A stream that does not answer (its node died, a slow recovery) must not
// hold a connection: after connectedWait Connected goes anyway, and a
// non-persistent push in the gap until the late stream answers may answer
// NOT_ONLINE, as before this rule (README, client protocol).
//
// Frames written before Connected (a stream's backlog or a live entry can
// reach the actor before the Subscribed that precedes them) are held by
// the connection's gate and written right after it, in order.
const connectedWait = 2 * time.Second

// connectedDue is the local message that sends Connected when some
// stream has not answered within connectedWait.
type connectedDue struct{}

// awaitSubscribed starts the wait for the streams' answers.
func (a *clientActor) awaitSubscribed(ctx actor.Context) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	a.p.Clock.AfterFunc(connectedWait, func() { root.Send(self, &connectedDue{}) })
}

// onSubscribedAll sends Connected once every stream attached so far has
// answered.
func (a *clientActor) onSubscribedAll() {
	if a.connected {
		return
	}
	for _, l := range a.links {
		if !l.confirmed {
			return
		}
	}
	a.sendConnected()
}

// onConnectedDue sends Connected without the streams that did not answer.
func (a *clientActor) onConnectedDue() {
	if a.connected {
		return
	}
	for id, l := range a.links {
		if !l.confirmed {
			a.p.Logger.Warn("client: stream did not answer the subscription in time, connected without it", slog.String("stream", id), slog.Duration("waited", connectedWait))
		}
	}
	a.sendConnected()
}

// sendConnected writes Connected (once), then what the gate held, and
// lets the edge read the client's frames.
func (a *clientActor) sendConnected() {
	if a.connected {
		return
	}
	a.connected = true
	var first *opsyncpb.ServerFrame
	if c := a.connectedFrame; c != nil {
		c.ServerTime = a.p.Clock.Now().UnixMilli()
		first = &opsyncpb.ServerFrame{Frame: &opsyncpb.ServerFrame_Connected{Connected: c}}
	}
	err := a.gate.open(first)
	close(a.ready)
	if err != nil {
		a.gone(err)
	}
}

// connGate is the connection as the client actor writes to it: it holds
// frames until open, then passes them through. At most a window of
// deliveries and the open state sources' versions wait in it.
type connGate struct {
	sink   FrameSink
	mu     sync.Mutex
	isOpen bool
	held   []heldFrame
}

// heldFrame is a frame written before the gate opened: a message, or
// encoded bytes (delivers: a Deliver frame).
type heldFrame struct {
	frame    *opsyncpb.ServerFrame
	encoded  []byte
	delivers bool
}

func (g *connGate) Send(f *opsyncpb.ServerFrame) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.isOpen {
		g.held = append(g.held, heldFrame{frame: f})
		return nil
	}
	return g.sink.Send(f)
}

func (g *connGate) SendEncoded(b []byte, delivers bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.isOpen {
		g.held = append(g.held, heldFrame{encoded: b, delivers: delivers})
		return nil
	}
	return g.sink.SendEncoded(b, delivers)
}

func (g *connGate) Close(code int, reason string) { g.sink.Close(code, reason) }

// open writes first (if any), then the held frames, and lets later
// frames through.
func (g *connGate) open(first *opsyncpb.ServerFrame) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.isOpen = true
	held := g.held
	g.held = nil
	if first != nil {
		if err := g.sink.Send(first); err != nil {
			return err
		}
	}
	for _, h := range held {
		var err error
		if h.frame != nil {
			err = g.sink.Send(h.frame)
		} else {
			err = g.sink.SendEncoded(h.encoded, h.delivers)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
