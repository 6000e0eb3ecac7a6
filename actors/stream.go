package actors

import (
	"context"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/events"
	"github.com/opsync/opsync/metrics"
	"github.com/opsync/opsync/proto/opsyncpb"
	"github.com/opsync/opsync/resultcode"
)

// StreamKind is the cluster kind of user and device streams.
func StreamKind(d *Deps) *cluster.Kind {
	deps := d.withDefaults()
	return cluster.NewKind(KindStream, actor.PropsFromProducer(func() actor.Actor {
		return &streamActor{deps: deps}
	}))
}

// streamActor owns one user or device stream: its journal is the stream's
// oplog. Pushes and acks that arrive while a journal append is under way are
// queued and written together by the next append, so a busy stream costs one
// fsync per batch rather than per push (and Pebble shares fsyncs across
// streams on top of that).
type streamActor struct {
	deps     *Deps
	system   *actor.ActorSystem
	self     *actor.PID
	identity string
	journal  string
	state    *events.Stream
	highest  uint64 // the journal's highest seq, >= state.LastSeq()
	failed   bool

	subs map[string]*subscriber

	writing    bool
	queue      []*pendingEvent
	byKey      map[entryKey]*pendingEvent // entries queued or being written
	queuedSync map[syncKey]*pendingEvent  // sync points queued, not yet writing
	sinceSnap  int
}

type entryKey struct{ biz, msg string }
type syncKey struct{ device, biz string }

type pendingEvent struct {
	ev    *opsyncpb.Event
	reply waiter   // the pusher, for entries
	dups  []waiter // repeats of the same push that arrived meanwhile
}

type subscriber struct {
	pid        *actor.PID
	device     string
	biz        map[string]bool
	osType     string
	appVersion string
}

// appendDone is the local message a finished journal append sends back.
type appendDone struct {
	batch []*pendingEvent
	first uint64
	err   error
}

func (a *streamActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		a.recover(ctx, m)
	case *opsyncpb.Push:
		a.onPush(ctx, m.Entry, waiter{pid: ctx.Sender()})
		a.flush()
	case *opsyncpb.PushBatch:
		b := newBatchWait(ctx.Sender(), len(m.Entries))
		if len(m.Entries) == 0 {
			respond(ctx, &opsyncpb.PushBatchResult{})
		}
		for i, e := range m.Entries {
			a.onPush(ctx, e, waiter{batch: b, slot: i})
		}
		a.flush() // after queueing them all: one append for the batch
	case *appendDone:
		a.onAppendDone(ctx, m)
	case *opsyncpb.Subscribe:
		a.onSubscribe(ctx, m)
	case *opsyncpb.Unsubscribe:
		a.onUnsubscribe(m)
	case *opsyncpb.AckSyncPoints:
		a.onAck(ctx, m)
	case *actor.Terminated:
		a.dropSubscriber(subKey(m.Who))
	case *actor.ReceiveTimeout:
		if len(a.subs) == 0 && !a.writing && len(a.queue) == 0 {
			ctx.Stop(ctx.Self())
		}
	}
}

func (a *streamActor) recover(ctx actor.Context, init *cluster.ClusterInit) {
	a.system = ctx.ActorSystem()
	a.self = ctx.Self()
	a.identity = init.Identity.Identity
	a.journal = JournalID(KindStream, a.identity)
	metrics.Activations.WithLabelValues(KindStream).Inc()
	a.subs = map[string]*subscriber{}
	a.byKey = map[entryKey]*pendingEvent{}
	a.queuedSync = map[syncKey]*pendingEvent{}
	state, highest, err := recoverState(context.Background(), a.deps.Store, a.journal, events.NewStream,
		func() *opsyncpb.StreamSnapshot { return &opsyncpb.StreamSnapshot{} }, events.RestoreStream)
	a.state, a.highest = state, highest
	if err != nil {
		a.deps.Logger.Error("stream recovery failed", slog.String("stream", a.identity), slog.Any("err", err))
		a.failed = true
	}
	ctx.SetReceiveTimeout(a.deps.PassivateAfter)
}

func (a *streamActor) onPush(ctx actor.Context, entry *opsyncpb.Entry, w waiter) {
	if a.failed || entry == nil {
		w.done(ctx, &opsyncpb.PushResult{Code: resultcode.SystemError})
		return
	}
	e := proto.Clone(entry).(*opsyncpb.Entry)
	key := entryKey{e.BizType, e.ThirdMsgId}
	if id, dup := a.state.Duplicate(key.biz, key.msg); dup {
		w.done(ctx, &opsyncpb.PushResult{Code: resultcode.DuplicatedBizID, OplogId: id})
		return
	}
	if pe, ok := a.byKey[key]; ok {
		// The first push is not durable yet: answer the repeat with its fate.
		pe.dups = append(pe.dups, w)
		return
	}
	now := a.deps.Now().UnixMilli()
	e.PushTime = now
	pe := &pendingEvent{ev: &opsyncpb.Event{Time: now, Kind: &opsyncpb.Event_EntryAppended{EntryAppended: e}}, reply: w}
	a.byKey[key] = pe
	a.queue = append(a.queue, pe)
}

func (a *streamActor) onAck(ctx actor.Context, m *opsyncpb.AckSyncPoints) {
	if a.failed {
		return
	}
	for biz, point := range m.Points {
		k := syncKey{m.DeviceId, biz}
		if pe, ok := a.queuedSync[k]; ok {
			if p := pe.ev.GetSyncPointAdvanced(); point > p.OplogId {
				p.OplogId = point
			}
			continue
		}
		if point <= a.state.SyncPoint(m.DeviceId, biz) || point > a.highest+uint64(len(a.queue)) {
			continue
		}
		pe := &pendingEvent{ev: &opsyncpb.Event{
			Time: a.deps.Now().UnixMilli(),
			Kind: &opsyncpb.Event_SyncPointAdvanced{SyncPointAdvanced: &opsyncpb.SyncPointAdvanced{DeviceId: m.DeviceId, BizType: biz, OplogId: point}},
		}}
		a.queuedSync[k] = pe
		a.queue = append(a.queue, pe)
	}
	a.flush()
}

// flush starts a journal append of the queued events unless one is under
// way; onAppendDone calls it again.
func (a *streamActor) flush() {
	if a.writing || len(a.queue) == 0 {
		return
	}
	n := min(len(a.queue), a.deps.MaxBatch)
	batch := a.queue[:n:n]
	a.queue = a.queue[n:]
	clear(a.queuedSync)
	first := a.highest + 1
	evs := make([]*opsyncpb.Event, n)
	for i, pe := range batch {
		if e := pe.ev.GetEntryAppended(); e != nil {
			e.OplogId = first + uint64(i)
		}
		evs[i] = pe.ev
	}
	data, err := marshalEvents(evs)
	if err != nil {
		a.system.Root.Send(a.self, &appendDone{batch: batch, first: first, err: err})
		return
	}
	a.writing = true
	store, journal, self, root := a.deps.Store, a.journal, a.self, a.system.Root
	go func() {
		err := store.Append(context.Background(), journal, first, data)
		root.Send(self, &appendDone{batch: batch, first: first, err: err})
	}()
}

func (a *streamActor) onAppendDone(ctx actor.Context, m *appendDone) {
	a.writing = false
	if m.err != nil {
		a.deps.Logger.Error("stream append failed", slog.String("stream", a.identity), slog.Any("err", m.err))
		a.fail(ctx, m.batch)
		return
	}
	a.highest = m.first + uint64(len(m.batch)) - 1
	var fresh []*opsyncpb.Entry
	for i, pe := range m.batch {
		seq := m.first + uint64(i)
		if err := a.state.Apply(seq, pe.ev); err != nil {
			a.deps.Logger.Error("stream apply failed", slog.String("stream", a.identity), slog.Any("err", err))
			a.fail(ctx, m.batch[i:])
			return
		}
		e := pe.ev.GetEntryAppended()
		if e == nil {
			continue
		}
		delete(a.byKey, entryKey{e.BizType, e.ThirdMsgId})
		pe.reply.done(ctx, &opsyncpb.PushResult{Code: resultcode.Success, OplogId: seq})
		for _, d := range pe.dups {
			d.done(ctx, &opsyncpb.PushResult{Code: resultcode.DuplicatedBizID, OplogId: seq})
		}
		fresh = append(fresh, e)
	}
	if len(fresh) > 0 {
		now := a.deps.Now().UnixMilli()
		for _, s := range a.subs {
			var out []*opsyncpb.Entry
			for _, e := range fresh {
				if s.biz[e.BizType] && events.Deliverable(e, s.osType, s.appVersion, now) {
					out = append(out, e)
				}
			}
			if len(out) > 0 {
				ctx.Send(s.pid, &opsyncpb.StreamDeliveries{Stream: a.identity, Entries: out})
			}
		}
	}
	a.sinceSnap += len(m.batch)
	if a.sinceSnap >= a.deps.SnapshotEvery {
		if err := saveSnapshot(context.Background(), a.deps.Store, a.journal, a.state.LastSeq(), a.state.Snapshot()); err != nil {
			a.deps.Logger.Warn("stream snapshot failed", slog.String("stream", a.identity), slog.Any("err", err))
		}
		a.sinceSnap = 0
	}
	a.flush()
}

// fail answers everything not yet durable with SYSTEM_ERROR and stops the
// actor, so that the next activation starts again from the journal.
func (a *streamActor) fail(ctx actor.Context, batch []*pendingEvent) {
	a.failed = true
	for _, pe := range append(batch, a.queue...) {
		if pe.ev.GetEntryAppended() == nil {
			continue
		}
		pe.reply.done(ctx, &opsyncpb.PushResult{Code: resultcode.SystemError})
		for _, d := range pe.dups {
			d.done(ctx, &opsyncpb.PushResult{Code: resultcode.SystemError})
		}
	}
	a.queue = nil
	ctx.Stop(ctx.Self())
}

func (a *streamActor) onSubscribe(ctx actor.Context, m *opsyncpb.Subscribe) {
	if a.failed {
		return
	}
	pid := actor.NewPID(m.ClientAddress, m.ClientId)
	key := subKey(pid)
	s := a.subs[key]
	if s == nil {
		s = &subscriber{pid: pid, biz: map[string]bool{}}
		a.subs[key] = s
		ctx.Watch(pid)
	}
	s.device, s.osType, s.appVersion = m.DeviceId, m.OsType, m.AppVersion
	for biz := range m.After {
		s.biz[biz] = true
	}
	if err := a.sendBacklog(ctx, s, m.After); err != nil {
		a.deps.Logger.Error("stream backlog read failed", slog.String("stream", a.identity), slog.Any("err", err))
		a.dropSubscriber(key)
		ctx.Unwatch(pid)
		return
	}
	respond(ctx, &opsyncpb.Subscribed{Stream: a.identity, LastSeq: a.state.LastSeq()})
}

// backlogBatch bounds the entries of one StreamDeliveries message.
const backlogBatch = 256

// sendBacklog sends the retained entries after the given sync points,
// reading their payloads from the journal.
func (a *streamActor) sendBacklog(ctx actor.Context, s *subscriber, after map[string]uint64) error {
	refs := a.state.EntriesAfter(after)
	if len(refs) == 0 {
		return nil
	}
	now := a.deps.Now().UnixMilli()
	var out []*opsyncpb.Entry
	_, err := a.deps.Store.Replay(context.Background(), a.journal, refs[0].OplogId, refs[len(refs)-1].OplogId, -1,
		func(seq uint64, b []byte) error {
			ev := &opsyncpb.Event{}
			if err := proto.Unmarshal(b, ev); err != nil {
				return err
			}
			e := ev.GetEntryAppended()
			if e == nil {
				return nil
			}
			if a, ok := after[e.BizType]; !ok || seq <= a || !events.Deliverable(e, s.osType, s.appVersion, now) {
				return nil
			}
			e.OplogId = seq
			out = append(out, e)
			if len(out) == backlogBatch {
				ctx.Send(s.pid, &opsyncpb.StreamDeliveries{Stream: a.identity, Entries: out})
				out = nil
			}
			return nil
		})
	if len(out) > 0 {
		ctx.Send(s.pid, &opsyncpb.StreamDeliveries{Stream: a.identity, Entries: out})
	}
	return err
}

func (a *streamActor) onUnsubscribe(m *opsyncpb.Unsubscribe) {
	key := subKey(actor.NewPID(m.ClientAddress, m.ClientId))
	s := a.subs[key]
	if s == nil {
		return
	}
	if len(m.BizTypes) == 0 {
		a.dropSubscriber(key)
		return
	}
	for _, b := range m.BizTypes {
		delete(s.biz, b)
	}
}

func (a *streamActor) dropSubscriber(key string) { delete(a.subs, key) }

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
