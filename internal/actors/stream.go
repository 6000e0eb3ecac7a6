package actors

import (
	"context"
	"log/slog"
	"sort"
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
	return cluster.NewKind(KindStream, actor.PropsFromProducer(func() actor.Actor {
		return &streamActor{deps: deps}
	}))
}

// streamActor owns one stream: its journal is the stream's oplog. Pushes
// and acks that arrive while a journal append is under way are queued and
// written together by the next append, so a busy stream costs one fsync per
// batch rather than per push (and Pebble shares fsyncs across streams on
// top of that).
type streamActor struct {
	deps     *Deps
	system   *actor.ActorSystem
	self     *actor.PID
	identity string
	journal  string
	global   bool // a bizType's global stream: clients keep their own sync points
	state    *state.Stream
	highest  uint64 // the journal's highest seq, >= state.LastSeq()
	failed   bool

	subs    map[string]*subscriber
	subSeq  uint64                       // subscribe order: the latest is the "most recently online"
	tries   map[string]map[uint64]uint32 // device (or the user) -> oplog id -> deliveries
	removal map[uint64]bool              // entries whose removal is queued or being written
	transit uint64                       // the last id given to a transient entry
	ticking bool                         // a tick is scheduled

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
	seq        uint64
	biz        map[string]bool
	osType     string
	appVersion string
	sent       map[uint64]int64 // delivered, unacknowledged: oplog id -> when (ms)
}

// appendDone is the local message a finished journal append sends back.
type appendDone struct {
	batch []*pendingEvent
	first uint64
	err   error
}

// tick drives retries and expiry; it does not keep an idle stream alive.
type tick struct{}

func (tick) NotInfluenceReceiveTimeout() {}

func (a *streamActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		a.recover(ctx, m)
	case *opsyncpb.Push:
		if m.Transient {
			a.onTransient(ctx, m.Entry)
			return
		}
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
		a.onAck(m)
	case *opsyncpb.StreamStatus:
		a.onStatus(ctx, m)
	case *tick:
		a.onTick(ctx)
	case *actor.Terminated:
		delete(a.subs, subKey(m.Who))
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
	a.global = IsGlobalStream(a.identity)
	metrics.Activations.WithLabelValues(KindStream).Inc()
	a.subs = map[string]*subscriber{}
	a.tries = map[string]map[uint64]uint32{}
	a.removal = map[uint64]bool{}
	a.byKey = map[entryKey]*pendingEvent{}
	a.queuedSync = map[syncKey]*pendingEvent{}
	state, highest, err := recoverState(context.Background(), a.deps.Store, a.journal, state.NewStream,
		func() *opsyncpb.StreamSnapshot { return &opsyncpb.StreamSnapshot{} }, state.RestoreStream)
	a.state, a.highest = state, highest
	if err != nil {
		a.deps.Logger.Error("stream recovery failed", slog.String("stream", a.identity), slog.Any("err", err))
		a.failed = true
		ctx.Stop(ctx.Self()) // the next message activates it anew
		return
	}
	ctx.SetReceiveTimeout(a.deps.PassivateAfter)
	a.onTick(ctx) // entries that expired while the stream was asleep go now
}

// ensureTick schedules the next tick if the stream needs one: while
// clients are attached (retries) or an entry expires soon. An idle stream
// with nothing due does not tick; expiry is also applied at activation and
// on a records query.
func (a *streamActor) ensureTick() {
	if a.ticking || a.failed {
		return
	}
	horizon := a.deps.Now().Add(10 * a.deps.TickInterval).UnixMilli()
	if len(a.subs) == 0 && len(a.state.Expired(horizon)) == 0 {
		return
	}
	a.ticking = true
	root, self := a.system.Root, a.self
	time.AfterFunc(a.deps.TickInterval, func() { root.Send(self, &tick{}) })
}

func (a *streamActor) onTick(ctx actor.Context) {
	a.ticking = false
	if a.failed {
		return
	}
	a.sweep()
	a.retry(ctx, a.deps.Now().UnixMilli())
	a.flush()
	a.ensureTick()
}

// sweep queues the removal of expired entries.
func (a *streamActor) sweep() {
	a.queueRemoval(a.state.Expired(a.deps.Now().UnixMilli()), opsyncpb.RemovalReason_REMOVAL_REASON_EXPIRED)
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

// onTransient delivers a non-persistent entry to the clients attached now
// and stores nothing. Its id comes from a clock-based counter, so that it
// still rises for the clients across activations.
func (a *streamActor) onTransient(ctx actor.Context, e *opsyncpb.Entry) {
	if a.failed || e == nil {
		respond(ctx, &opsyncpb.PushResult{Code: resultcode.SystemError})
		return
	}
	now := a.deps.Now()
	a.transit = max(a.transit+1, uint64(now.UnixMicro()))
	e = proto.Clone(e).(*opsyncpb.Entry)
	e.OplogId, e.PushTime = a.transit, now.UnixMilli()
	delivered := false
	for _, s := range a.recipients(e) {
		if Deliverable(e, s.osType, s.appVersion, now.UnixMilli()) {
			ctx.Send(s.pid, &opsyncpb.StreamDeliveries{Stream: a.identity, Entries: []*opsyncpb.Entry{e}})
			delivered = true
		}
	}
	if !delivered {
		respond(ctx, &opsyncpb.PushResult{Code: resultcode.NotOnline})
		return
	}
	respond(ctx, &opsyncpb.PushResult{Code: resultcode.Success, OplogId: e.OplogId})
}

func (a *streamActor) onAck(m *opsyncpb.AckSyncPoints) {
	if a.failed {
		return
	}
	sub := a.subs[subKey(actor.NewPID(m.ClientAddress, m.ClientId))]
	for biz, point := range m.Points {
		if point > a.highest {
			continue // not an id of this stream (a transient entry's)
		}
		device := m.DeviceId
		if ref, ok := a.state.Entry(point); ok && ref.SingleDevice {
			device = state.UserDevice
		}
		a.settle(sub, device, biz, point)
		if a.global {
			continue // global streams leave sync points to the clients
		}
		a.queueSyncPoint(device, biz, point)
	}
	for _, p := range m.Acked {
		if sub != nil {
			delete(sub.sent, p.OplogId)
		}
		delete(a.tries[m.DeviceId], p.OplogId)
		delete(a.tries[state.UserDevice], p.OplogId)
	}
	a.flush()
}

// settle forgets the deliveries of bizType up to point: they are
// acknowledged.
func (a *streamActor) settle(sub *subscriber, device, biz string, point uint64) {
	tries := a.tries[device]
	for id := range tries {
		if id <= point {
			if ref, ok := a.state.Entry(id); !ok || ref.BizType == biz {
				delete(tries, id)
			}
		}
	}
	if len(tries) == 0 {
		delete(a.tries, device)
	}
	if sub == nil {
		return
	}
	for id := range sub.sent {
		if id <= point {
			if ref, ok := a.state.Entry(id); !ok || ref.BizType == biz {
				delete(sub.sent, id)
			}
		}
	}
}

func (a *streamActor) queueSyncPoint(device, biz string, point uint64) {
	k := syncKey{device, biz}
	if pe, ok := a.queuedSync[k]; ok {
		if p := pe.ev.GetSyncPointAdvanced(); point > p.OplogId {
			p.OplogId = point
		}
		return
	}
	if point <= a.state.SyncPoint(device, biz) {
		return
	}
	pe := &pendingEvent{ev: &opsyncpb.Event{
		Time: a.deps.Now().UnixMilli(),
		Kind: &opsyncpb.Event_SyncPointAdvanced{SyncPointAdvanced: &opsyncpb.SyncPointAdvanced{DeviceId: device, BizType: biz, OplogId: point}},
	}}
	a.queuedSync[k] = pe
	a.queue = append(a.queue, pe)
}

// queueRemoval queues the removal of entries (once each).
func (a *streamActor) queueRemoval(ids []uint64, reason opsyncpb.RemovalReason) {
	var fresh []uint64
	for _, id := range ids {
		if !a.removal[id] {
			a.removal[id] = true
			fresh = append(fresh, id)
		}
	}
	if len(fresh) == 0 {
		return
	}
	a.queue = append(a.queue, &pendingEvent{ev: &opsyncpb.Event{
		Time: a.deps.Now().UnixMilli(),
		Kind: &opsyncpb.Event_EntriesRemoved{EntriesRemoved: &opsyncpb.EntriesRemoved{OplogIds: fresh, Reason: reason}},
	}})
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
	var removed []uint64
	for i, pe := range m.batch {
		seq := m.first + uint64(i)
		if err := a.state.Apply(seq, pe.ev); err != nil {
			a.deps.Logger.Error("stream apply failed", slog.String("stream", a.identity), slog.Any("err", err))
			a.fail(ctx, m.batch[i:])
			return
		}
		if r := pe.ev.GetEntriesRemoved(); r != nil {
			removed = append(removed, r.OplogIds...)
			continue
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
	a.deleteRecords(removed)
	a.trim(fresh)
	a.deliverFresh(ctx, fresh)
	a.ensureTick()
	a.sinceSnap += len(m.batch)
	if a.sinceSnap >= a.deps.SnapshotEvery {
		if err := saveSnapshot(context.Background(), a.deps.Store, a.journal, a.state.LastSeq(), a.state.Snapshot()); err != nil {
			a.deps.Logger.Warn("stream snapshot failed", slog.String("stream", a.identity), slog.Any("err", err))
		}
		a.sinceSnap = 0
	}
	a.flush()
}

// deleteRecords range-deletes the journal records of removed entries, now
// that their removal is durable, one range per run of consecutive ids.
func (a *streamActor) deleteRecords(ids []uint64) {
	if len(ids) == 0 {
		return
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if err := a.deps.Store.DeleteRange(context.Background(), a.journal, ids[i], ids[j]); err != nil {
			a.deps.Logger.Warn("stream range delete failed", slog.String("stream", a.identity), slog.Any("err", err))
		}
		i = j + 1
	}
	for _, id := range ids {
		delete(a.removal, id)
		for _, tries := range a.tries {
			delete(tries, id)
		}
		for _, s := range a.subs {
			delete(s.sent, id)
		}
	}
}

// trim queues the removal of entries beyond the threshold of the bizTypes
// that just got entries.
func (a *streamActor) trim(fresh []*opsyncpb.Entry) {
	seen := map[string]bool{}
	for _, e := range fresh {
		if e.Threshold > 0 && !seen[e.BizType] {
			seen[e.BizType] = true
			a.queueRemoval(a.state.OverThreshold(e.BizType), opsyncpb.RemovalReason_REMOVAL_REASON_THRESHOLD)
		}
	}
}

// deliverFresh sends newly stored entries to the attached clients, unless
// the threshold already removed them.
func (a *streamActor) deliverFresh(ctx actor.Context, fresh []*opsyncpb.Entry) {
	if len(fresh) == 0 || len(a.subs) == 0 {
		return
	}
	out := map[*subscriber][]*opsyncpb.Entry{}
	for _, e := range fresh {
		if a.removal[e.OplogId] {
			continue
		}
		for _, s := range a.recipients(e) {
			out[s] = append(out[s], e)
		}
	}
	for s, es := range out {
		a.deliver(ctx, s, es, false)
	}
}

// recipients are the attached clients an entry goes to: every one that
// registered its bizType, or for a single-device entry the most recently
// attached of them.
func (a *streamActor) recipients(e *opsyncpb.Entry) []*subscriber {
	var out []*subscriber
	var latest *subscriber
	for _, s := range a.subs {
		if !s.biz[e.BizType] {
			continue
		}
		out = append(out, s)
		if latest == nil || s.seq > latest.seq {
			latest = s
		}
	}
	if e.SingleDevice && latest != nil {
		return []*subscriber{latest}
	}
	return out
}

// deliver sends entries to a client, counting each delivery against the
// entry's retries; an entry delivered 1 + max_retries times already is
// removed instead.
func (a *streamActor) deliver(ctx actor.Context, s *subscriber, es []*opsyncpb.Entry, retry bool) {
	now := a.deps.Now().UnixMilli()
	var out, exhausted []*opsyncpb.Entry
	for _, e := range es {
		if !Deliverable(e, s.osType, s.appVersion, now) {
			continue
		}
		device := s.device
		if e.SingleDevice {
			device = state.UserDevice
		}
		tries := a.tries[device]
		if tries == nil {
			tries = map[uint64]uint32{}
			a.tries[device] = tries
		}
		if tries[e.OplogId] >= 1+e.MaxRetries {
			exhausted = append(exhausted, e)
			continue
		}
		tries[e.OplogId]++
		s.sent[e.OplogId] = now
		out = append(out, e)
	}
	for len(out) > 0 {
		n := min(len(out), backlogBatch)
		ctx.Send(s.pid, &opsyncpb.StreamDeliveries{Stream: a.identity, Entries: out[:n], Retry: retry})
		out = out[n:]
	}
	if len(exhausted) > 0 {
		ids := make([]uint64, len(exhausted))
		for i, e := range exhausted {
			ids[i] = e.OplogId
		}
		metrics.Drops.Add(float64(len(ids)))
		a.queueRemoval(ids, opsyncpb.RemovalReason_REMOVAL_REASON_RETRIES_EXHAUSTED)
	}
}

// retry redelivers what attached clients have not acknowledged within the
// retry interval.
func (a *streamActor) retry(ctx actor.Context, now int64) {
	due := now - a.deps.RetryInterval.Milliseconds()
	for _, s := range a.subs {
		var ids []uint64
		for id, at := range s.sent {
			if at <= due && !a.removal[id] {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			continue
		}
		es, err := a.readEntries(ids)
		if err != nil {
			a.deps.Logger.Warn("stream retry read failed", slog.String("stream", a.identity), slog.Any("err", err))
			continue
		}
		metrics.Retries.Add(float64(len(es)))
		a.deliver(ctx, s, es, true)
	}
}

// readEntries reads entries by oplog id from the journal, in oplog order.
func (a *streamActor) readEntries(ids []uint64) ([]*opsyncpb.Entry, error) {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	want := make(map[uint64]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var out []*opsyncpb.Entry
	_, err := a.deps.Store.Replay(context.Background(), a.journal, ids[0], ids[len(ids)-1], -1, func(seq uint64, b []byte) error {
		if !want[seq] {
			return nil
		}
		ev := &opsyncpb.Event{}
		if err := proto.Unmarshal(b, ev); err != nil {
			return err
		}
		if e := ev.GetEntryAppended(); e != nil {
			e.OplogId = seq
			out = append(out, e)
		}
		return nil
	})
	return out, err
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
	s := &subscriber{pid: pid, device: m.DeviceId, osType: m.OsType, appVersion: m.AppVersion, biz: map[string]bool{}, sent: map[uint64]int64{}}
	if !m.BacklogOnly {
		key := subKey(pid)
		if old := a.subs[key]; old != nil {
			s = old
		} else {
			a.subs[key] = s
			ctx.Watch(pid)
		}
		a.subSeq++
		s.seq = a.subSeq
		s.device, s.osType, s.appVersion = m.DeviceId, m.OsType, m.AppVersion
		for biz := range m.After {
			s.biz[biz] = true
		}
	}
	if err := a.sendBacklog(ctx, s, m.After); err != nil {
		a.deps.Logger.Error("stream backlog read failed", slog.String("stream", a.identity), slog.Any("err", err))
	}
	a.ensureTick()
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
	ids := make([]uint64, 0, len(refs))
	for _, r := range refs {
		if !a.removal[r.OplogId] {
			ids = append(ids, r.OplogId)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	es, err := a.readEntries(ids)
	if err != nil {
		return err
	}
	a.deliver(ctx, s, es, false)
	return nil
}

func (a *streamActor) onUnsubscribe(m *opsyncpb.Unsubscribe) {
	key := subKey(actor.NewPID(m.ClientAddress, m.ClientId))
	s := a.subs[key]
	if s == nil {
		return
	}
	if len(m.BizTypes) == 0 {
		delete(a.subs, key)
		return
	}
	for _, b := range m.BizTypes {
		delete(s.biz, b)
		for id := range s.sent {
			if ref, ok := a.state.Entry(id); ok && ref.BizType == b {
				delete(s.sent, id)
			}
		}
	}
}

func (a *streamActor) onStatus(ctx actor.Context, m *opsyncpb.StreamStatus) {
	if !a.failed {
		a.sweep()
		a.flush()
	}
	limit := int(m.Limit)
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	pushes, arrivals, newest := a.state.Status(m.Since, limit)
	res := &opsyncpb.StreamStatusResult{Stream: a.identity, Pushes: pushes, Arrivals: arrivals, Entries: newest, Dropped: a.state.Dropped()}
	for _, s := range a.subs {
		res.ConnectedDevices = append(res.ConnectedDevices, s.device)
	}
	sort.Strings(res.ConnectedDevices)
	res.Connected = len(res.ConnectedDevices) > 0
	respond(ctx, res)
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
