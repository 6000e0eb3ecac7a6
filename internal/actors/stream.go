package actors

import (
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/resultcode"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// StreamKind is the cluster kind of user, device and global streams.
func StreamKind(d *Deps) *cluster.Kind {
	deps := d.withDefaults()
	return cluster.NewKind(KindStream, actor.PropsFromProducer(func() actor.Actor { return newStreamActor(deps) }))
}

// streamActor owns one stream: its journal is the stream's oplog. Pushes
// and acks that arrive while a journal append is under way are queued and
// written together by the next append (the core's group commit), so a busy
// stream costs one fsync per batch rather than per push.
//
// Its files: pushes and their results (stream_push.go), subscribers and
// delivery (stream_delivery.go), acks (stream_ack.go), removals
// (stream_removal.go), records (stream_status.go), statistics
// (stream_stats.go).
type streamActor struct {
	j        *journaled[*state.Stream]
	deps     *Deps
	system   *actor.ActorSystem
	self     *actor.PID
	identity string
	global   bool // a bizType's global stream: clients keep their own sync points
	state    *state.Stream

	subs    map[string]*subscriber
	subSeq  uint64                       // subscribe order: the latest is the "most recently online"
	tries   map[string]map[uint64]uint32 // device (or the user) -> oplog id -> deliveries (stream_retries.go)
	removal map[uint64]bool              // entries whose removal is queued or being written
	transit uint64                       // the last id given to a transient entry
	ticking bool                         // a tick is scheduled

	byKey       map[entryKey]*pushWait                  // entries queued or being written
	queuedSync  map[syncKey]*opsyncpb.SyncPointAdvanced // sync points queued, not yet in an append
	queuedStats *opsyncpb.StatsCounted                  // statistics queued, not yet in an append
	queuedTries map[deliveryKey]uint32                  // delivery counts queued, not yet in an append
	transients  []transientSent                         // non-persistent entries delivered, ascending id
	acked       map[string]uint64                       // bizType -> the highest sync point written (arrivals)
}

type entryKey struct{ biz, msg string }
type syncKey struct{ device, biz string }

func newStreamActor(deps *Deps) *streamActor {
	a := &streamActor{deps: deps, subs: map[string]*subscriber{}, tries: map[string]map[uint64]uint32{},
		removal: map[uint64]bool{}, byKey: map[entryKey]*pushWait{}, queuedSync: map[syncKey]*opsyncpb.SyncPointAdvanced{}, acked: map[string]uint64{}}
	a.j = newJournaled(deps, KindStream, func(s *state.Stream) proto.Message { return s.Snapshot() })
	// The journal keeps the records of retained entries below a snapshot:
	// their payloads are read from it.
	a.j.keep = func(s *state.Stream) []uint64 { return s.RetainedIDs() }
	a.j.applied = a.onApplied
	return a
}

// tick drives retries and expiry; it does not keep an idle stream alive.
type tick struct{}

func (tick) NotInfluenceReceiveTimeout() {}

func (a *streamActor) Receive(ctx actor.Context) {
	if a.j.receive(ctx) {
		return
	}
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		a.recover(ctx, m)
	case *opsyncpb.Push:
		if a.late(m.Deadline) {
			respond(ctx, &opsyncpb.PushResult{Code: resultcode.SystemError})
			return
		}
		if m.Transient {
			a.onTransient(ctx, m.Entry)
			a.j.flush() // its statistics
			return
		}
		a.onPush(ctx, m.Entry, waiter{pid: ctx.Sender()})
		a.j.flush()
	case *opsyncpb.PushBatch:
		if a.late(m.Deadline) {
			res := &opsyncpb.PushBatchResult{Results: make([]*opsyncpb.PushResult, len(m.Entries))}
			for i := range res.Results {
				res.Results[i] = &opsyncpb.PushResult{Code: resultcode.SystemError}
			}
			respond(ctx, res)
			return
		}
		b := newBatchWait(ctx.Sender(), len(m.Entries))
		if len(m.Entries) == 0 {
			respond(ctx, &opsyncpb.PushBatchResult{})
		}
		for i, e := range m.Entries {
			a.onPush(ctx, e, waiter{batch: b, slot: i})
		}
		a.j.flush() // after queueing them all: one append for the batch
	case *opsyncpb.Subscribe:
		a.onSubscribe(ctx, m)
	case *opsyncpb.Unsubscribe:
		a.onUnsubscribe(m)
	case *opsyncpb.AckSyncPoints:
		a.onAck(ctx, m)
	case *opsyncpb.GlobalArrivals:
		a.onGlobalArrivals(ctx, m)
	case *opsyncpb.StreamStatus:
		a.onStatus(ctx, m)
	case *opsyncpb.SweepStream:
		a.onSweep(ctx, m)
	case *tick:
		a.onTick(ctx)
	case *actor.Terminated:
		delete(a.subs, subKey(m.Who))
	case *actor.ReceiveTimeout:
		// The counts of first deliveries are written before it goes (the
		// next timeout stops it, once they are).
		if len(a.subs) > 0 || !a.j.idle() || a.saveDeliveries() {
			a.j.flush()
			// protoactor disarms the timeout once it fires: without this a
			// stream busy at its first timeout would never passivate.
			ctx.SetReceiveTimeout(a.deps.PassivateAfter)
			return
		}
		ctx.Stop(ctx.Self())
	}
}

func (a *streamActor) recover(ctx actor.Context, init *cluster.ClusterInit) {
	a.system = ctx.ActorSystem()
	a.self = ctx.Self()
	a.identity = init.Identity.Identity
	a.global = IsGlobalStream(a.identity)
	err := a.j.recover(ctx, init, state.NewStream, restoreWith(func() *opsyncpb.StreamSnapshot { return &opsyncpb.StreamSnapshot{} }, state.RestoreStream))
	a.state = a.j.state
	if err != nil {
		ctx.Stop(ctx.Self()) // the next message activates it anew
		return
	}
	a.tries = a.state.Deliveries() // retries go on being counted where the last activation stopped
	ctx.SetReceiveTimeout(a.deps.PassivateAfter)
	a.onTick(ctx) // entries that expired while the stream was asleep go now
}

// ensureTick schedules the next tick if the stream needs one: while
// clients are attached (retries) or an entry expires soon. An idle stream
// with nothing due does not tick; expiry is also applied at activation and
// on a records query.
func (a *streamActor) ensureTick() {
	if a.ticking || a.j.failed {
		return
	}
	horizon := a.deps.now().Add(10 * a.deps.TickInterval).UnixMilli()
	if len(a.subs) == 0 && len(a.state.Expired(horizon)) == 0 {
		return
	}
	a.ticking = true
	root, self := a.system.Root, a.self
	a.deps.Clock.AfterFunc(a.deps.TickInterval, func() { root.Send(self, &tick{}) })
}

func (a *streamActor) onTick(ctx actor.Context) {
	a.ticking = false
	if a.j.failed {
		return
	}
	a.sweep(ctx)
	a.retry(ctx, a.deps.now().UnixMilli())
	a.j.flush()
	a.ensureTick()
}

// onApplied runs after a batch of the stream's events is durable and
// applied: removed entries' records go, the threshold trims, new entries
// go to the attached clients.
func (a *streamActor) onApplied(ctx actor.Context, batch []*pending) {
	var fresh []*opsyncpb.Entry
	var removed []uint64
	for _, p := range batch {
		if r := p.ev.GetEntriesRemoved(); r != nil {
			removed = append(removed, r.OplogIds...)
		} else if e := p.ev.GetEntryAppended(); e != nil {
			fresh = append(fresh, e)
		}
	}
	a.deleteRecords(removed)
	a.trim(ctx, fresh)
	a.deliverFresh(ctx, fresh)
	a.ensureTick()
}

// deadlineSkew is how far past a push's deadline the stream still takes
// it: room for the clocks of two nodes to differ.
const deadlineSkew = 2 * time.Second

// late reports that a push's caller stopped waiting for it (deadline in ms
// since the epoch; 0: none): a message held up, say by a partition, must
// not store what its caller was told failed.
func (a *streamActor) late(deadline int64) bool {
	if deadline == 0 || a.deps.now().Before(time.UnixMilli(deadline).Add(deadlineSkew)) {
		return false
	}
	metrics.LatePushes.Inc()
	return true
}

// IsGlobalStream reports whether a stream identity is a bizType's global
// stream.
func IsGlobalStream(identity string) bool {
	_, rest, ok := strings.Cut(identity, "/")
	return ok && strings.HasPrefix(rest, "g/")
}

func subKey(pid *actor.PID) string { return pid.Address + "/" + pid.Id }

func respond(ctx actor.Context, msg proto.Message) {
	if ctx.Sender() != nil {
		ctx.Respond(msg)
	}
}

func sendTo(ctx actor.Context, pid *actor.PID, msg proto.Message) {
	if pid != nil {
		ctx.Send(pid, msg)
	}
}
