package actors

import (
	"context"
	"encoding/binary"
	"log/slog"
	"slices"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// subscriber is a client actor attached to the stream.
type subscriber struct {
	pid        *actor.PID
	device     string
	seq        uint64
	biz        map[string]bool
	osType     string
	appVersion string
	sent       map[uint64]int64 // delivered, unacknowledged: oplog id -> when (ms)
	// loading: the bizTypes whose backlog is being read (bizType ->
	// reads under way); their new entries reach it through that read (in
	// order), not live.
	loading  map[string]int
	retrying bool // a read of its redeliveries is under way
	// dropped counts the Unsubscribes of each bizType: a backlog read that
	// began before one does not deliver that bizType (the client may have
	// subscribed it again from an older sync point meanwhile, whose read
	// must come first).
	dropped map[string]int
}

// backlogBatch bounds the entries of one HubDeliveries message (and so of
// one client frame).
const backlogBatch = 256

func (a *streamActor) onSubscribe(ctx actor.Context, m *opsyncpb.Subscribe) {
	if a.j.failed {
		return
	}
	pid := actor.NewPID(m.ClientAddress, m.ClientId)
	s := &subscriber{pid: pid, device: m.DeviceId, osType: m.OsType, appVersion: m.AppVersion, biz: map[string]bool{}, sent: map[uint64]int64{}, loading: map[string]int{}, dropped: map[string]int{}}
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
	if len(m.PurgedBefore) > 0 {
		a.purge(ctx, m.PurgedBefore)
		a.j.flush()
	}
	a.sendBacklog(ctx, s, m.After)
	a.ensureTick()
	respond(ctx, &opsyncpb.Subscribed{Stream: a.identity, LastSeq: a.state.LastSeq()})
}

// sendBacklog sends the retained entries after the given sync points. Their
// payloads are read from the journal off the loop; entries stored meanwhile
// follow through another read, so the subscriber gets everything in order.
func (a *streamActor) sendBacklog(ctx actor.Context, s *subscriber, after map[string]uint64) {
	var ids []uint64
	for _, r := range a.state.EntriesAfter(after) {
		if !a.removal[r.OplogId] {
			ids = append(ids, r.OplogId)
		}
	}
	if len(ids) == 0 {
		return
	}
	dropped := make(map[string]int, len(after))
	for biz := range after {
		s.loading[biz]++
		dropped[biz] = s.dropped[biz]
	}
	upTo := a.j.highest
	a.readEntries(ids, func(ctx actor.Context, es []*opsyncpb.Entry, err error) {
		kept := make(map[string]uint64, len(after)) // the bizTypes not unsubscribed meanwhile
		for biz, p := range after {
			if s.loading[biz]--; s.loading[biz] <= 0 {
				delete(s.loading, biz)
			}
			if s.dropped[biz] == dropped[biz] {
				kept[biz] = p
			}
		}
		es = slices.DeleteFunc(es, func(e *opsyncpb.Entry) bool { _, ok := kept[e.BizType]; return !ok })
		if err != nil {
			// The subscriber would miss these entries (and the live ones
			// held back meanwhile) for the rest of its session: stop, so
			// that it attaches to a new activation, which reads again.
			a.deps.Logger.Error("stream backlog read failed", slog.String("stream", a.identity), slog.Any("err", err))
			a.j.fail(ctx, nil, err)
			return
		}
		a.deliver(ctx, s, a.retained(es), false)
		a.j.flush() // exhausted retries queue removals
		// Entries stored while the read ran: read them too, before any
		// live delivery to this subscriber.
		next := make(map[string]uint64, len(kept))
		for biz, p := range kept {
			next[biz] = max(p, upTo)
		}
		a.sendBacklog(ctx, s, next)
	})
}

// retained keeps the entries the stream still retains (a read may return
// one whose removal was written meanwhile).
func (a *streamActor) retained(es []*opsyncpb.Entry) []*opsyncpb.Entry {
	out := es[:0]
	for _, e := range es {
		if _, ok := a.state.Entry(e.OplogId); ok && !a.removal[e.OplogId] {
			out = append(out, e)
		}
	}
	return out
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
		s.dropped[b]++
		for id := range s.sent {
			if ref, ok := a.state.Entry(id); ok && ref.BizType == b {
				delete(s.sent, id)
			}
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
	var order []*subscriber
	for _, e := range fresh {
		if a.removal[e.OplogId] {
			continue
		}
		for _, s := range a.recipients(e) {
			if s.loading[e.BizType] > 0 {
				continue
			}
			if _, ok := out[s]; !ok {
				order = append(order, s)
			}
			out[s] = append(out[s], e)
		}
	}
	ds := make([]delivery, 0, len(order))
	for _, s := range order {
		if es := a.prepare(ctx, s, out[s]); len(es) > 0 {
			ds = append(ds, delivery{s, es})
		}
	}
	a.send(ctx, ds, false)
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

// delivery is entries bound for one subscriber.
type delivery struct {
	s  *subscriber
	es []*opsyncpb.Entry
}

// deliver sends entries to one client (see prepare and send).
func (a *streamActor) deliver(ctx actor.Context, s *subscriber, es []*opsyncpb.Entry, retry bool) {
	if out := a.prepare(ctx, s, es); len(out) > 0 {
		a.send(ctx, []delivery{{s, out}}, retry)
	}
}

// prepare returns the entries of es that go to s, counting each delivery
// against the entry's retries; an entry delivered 1 + max_retries times
// already is removed instead.
func (a *streamActor) prepare(ctx actor.Context, s *subscriber, es []*opsyncpb.Entry) []*opsyncpb.Entry {
	now := a.deps.now().UnixMilli()
	var out []*opsyncpb.Entry
	var exhausted []uint64
	for _, e := range es {
		if !Deliverable(e, s.osType, s.appVersion, now) {
			continue
		}
		device := s.device
		if e.SingleDevice {
			device = state.UserDevice
		}
		if !a.countDelivery(device, e) {
			exhausted = append(exhausted, e.OplogId)
			continue
		}
		s.sent[e.OplogId] = now
		out = append(out, e)
	}
	if len(exhausted) > 0 {
		metrics.Drops.Add(float64(len(exhausted)))
		a.queueRemoval(ctx, exhausted, opsyncpb.RemovalReason_REMOVAL_REASON_RETRIES_EXHAUSTED)
	}
	return out
}

// send hands deliveries to the fan-out hubs of the recipients' nodes: one
// message per node and distinct list of entries, naming every recipient
// there (a global push to 10,000 clients of one node is one message). A
// recipient whose entries take several messages gets them on its own, in
// order.
func (a *streamActor) send(ctx actor.Context, ds []delivery, retry bool) {
	type groupKey struct {
		address string
		ids     string
	}
	var order []*opsyncpb.HubDeliveries
	var to []string // the node of each message in order
	groups := map[groupKey]*opsyncpb.HubDeliveries{}
	var key []byte
	for _, d := range ds {
		if len(d.es) > backlogBatch {
			for es := d.es; len(es) > 0; {
				n := min(len(es), backlogBatch)
				order = append(order, &opsyncpb.HubDeliveries{Stream: a.identity, Entries: es[:n], ClientIds: []string{d.s.pid.Id}, Retry: retry})
				to = append(to, d.s.pid.Address)
				es = es[n:]
			}
			continue
		}
		key = key[:0]
		for _, e := range d.es {
			key = binary.AppendUvarint(key, e.OplogId)
		}
		k := groupKey{d.s.pid.Address, string(key)}
		g := groups[k]
		if g == nil {
			g = &opsyncpb.HubDeliveries{Stream: a.identity, Entries: d.es, Retry: retry}
			groups[k] = g
			order = append(order, g)
			to = append(to, d.s.pid.Address)
		}
		g.ClientIds = append(g.ClientIds, d.s.pid.Id)
	}
	for i, m := range order {
		ctx.Send(hubFor(to[i], a.identity), m)
	}
}

// retry redelivers what attached clients have not acknowledged within the
// retry interval.
func (a *streamActor) retry(ctx actor.Context, now int64) {
	due := now - a.deps.RetryInterval.Milliseconds()
	for _, s := range a.subs {
		if s.retrying {
			continue
		}
		var ids []uint64
		for id, at := range s.sent {
			if at <= due && !a.removal[id] {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			continue
		}
		s.retrying = true
		a.readEntries(ids, func(ctx actor.Context, es []*opsyncpb.Entry, err error) {
			s.retrying = false
			if err != nil {
				a.deps.Logger.Warn("stream retry read failed", slog.String("stream", a.identity), slog.Any("err", err))
				return
			}
			// Only what is still unacknowledged (acks came meanwhile).
			es = slices.DeleteFunc(a.retained(es), func(e *opsyncpb.Entry) bool { _, out := s.sent[e.OplogId]; return !out })
			if a.subs[subKey(s.pid)] != s || len(es) == 0 {
				return
			}
			metrics.Retries.Add(float64(len(es)))
			a.deliver(ctx, s, es, true)
			a.j.flush() // exhausted retries queue removals
		})
	}
}

// readEntries reads entries by oplog id from the journal, off the loop,
// and hands them, in oplog order, to then on the loop.
func (a *streamActor) readEntries(ids []uint64, then func(ctx actor.Context, es []*opsyncpb.Entry, err error)) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	journal := a.j.journal
	a.j.read(func(ctx context.Context, store persistence.Store) (any, error) {
		want := make(map[uint64]bool, len(ids))
		for _, id := range ids {
			want[id] = true
		}
		var out []*opsyncpb.Entry
		_, err := store.Replay(ctx, journal, ids[0], ids[len(ids)-1], -1, func(seq uint64, b []byte) error {
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
	}, func(ctx actor.Context, v any, err error) {
		es, _ := v.([]*opsyncpb.Entry)
		then(ctx, es, err)
	})
}
