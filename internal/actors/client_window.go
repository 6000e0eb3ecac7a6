package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A connection's window (messages and bytes delivered and not
// acknowledged) is shared among the streams it reads: each gets an equal
// share and hands the client no more than that (stream_page.go), so that
// what the client actor queues behind its window stays small and every
// delivery a stream counts against an entry's retries is one the client
// was able to send.

// SendMeter is told what a connection holds for its client: the bytes
// delivered and not acknowledged, and those queued for its window. The
// edge keeps the node's send budget with it.
type SendMeter interface {
	// Charge adds delta (negative: released) to the connection's bytes.
	Charge(delta int64)
}

// share is each stream's share of the window: at least one message and
// one byte, so that every stream can make progress (a stream hands one
// entry whatever its size when nothing of its own is in flight).
func (a *clientActor) share() (msgs uint32, bytes uint64) {
	n := max(1, len(a.links))
	return uint32(max(1, a.p.Window/n)), uint64(max(1, a.p.WindowBytes/int64(n)))
}

// reshare tells the streams other than except their new share once the
// number of streams changed (a bizType registered later reads one more).
func (a *clientActor) reshare(ctx actor.Context, except *streamLink) {
	if len(a.links) == a.sharedBy {
		return
	}
	a.sharedBy = len(a.links)
	msgs, bytes := a.share()
	for _, l := range a.links {
		if l != except && l.pid != nil {
			ctx.Send(l.pid, &opsyncpb.SubscriberWindow{ClientAddress: ctx.Self().Address, ClientId: ctx.Self().Id, Window: msgs, WindowBytes: bytes})
		}
	}
}

// fits reports whether es may join what is in flight now: the window has
// room for their messages and bytes (an entry larger than the window goes
// alone, when nothing is in flight).
func (a *clientActor) fits(es []*opsyncpb.Entry) bool {
	if a.inflight.Len()+len(es) > a.p.Window {
		return false
	}
	if a.inflight.Len() == 0 && len(es) == 1 {
		return true
	}
	size := a.inflight.Bytes()
	for _, e := range es {
		size += int64(state.EntrySize(e))
	}
	return size <= a.p.WindowBytes
}

// meter reports a change of what the connection holds.
func (a *clientActor) meter() {
	if a.p.Meter == nil {
		return
	}
	if held := a.inflight.Bytes() + a.queued; held != a.metered {
		a.p.Meter.Charge(held - a.metered)
		a.metered = held
	}
}

// unmeter releases everything the connection held: it is gone.
func (a *clientActor) unmeter() {
	if a.p.Meter != nil && a.metered != 0 {
		a.p.Meter.Charge(-a.metered)
		a.metered = 0
	}
}
