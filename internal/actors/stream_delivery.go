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
	// backlogOnly: a client of a global bizType without pushToOnline: it
	// gets the entries up to until (the last one when it subscribed) and
	// no live ones; it is detached once it has them all.
	backlogOnly bool
	until       uint64
	sent        map[uint64]sentEntry // delivered, unacknowledged
	sentBytes   int64                // their sizes
	window      pageWindow           // its share of its client's window
	// cursor is, per bizType, the highest oplog id handed to it or passed
	// over. While behind, entries above it may be retained that it was not
	// handed (its backlog, or live entries that found its window full):
	// they come by pages (stream_page.go), and live entries wait for them.
	cursor   map[string]uint64
	behind   bool
	reading  bool // a page is being read
	retrying bool // a read of its redeliveries is under way
	// dropped counts the Unsubscribes (and new subscriptions) of each
	// bizType: a page read that began before one does not deliver that
	// bizType (the client may have subscribed it again from an older sync
	// point meanwhile, which the next page starts from).
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
	key := subKey(pid)
	s := a.subs[key]
	if s == nil && len(m.After) == 0 {
		respond(ctx, &opsyncpb.Subscribed{Stream: a.identity, LastSeq: a.state.LastSeq()}) // nothing to attach
		return
	}
	if s == nil {
		s = &subscriber{pid: pid, biz: map[string]bool{}, sent: map[uint64]sentEntry{}, cursor: map[string]uint64{}, dropped: map[string]int{}}
		a.subs[key] = s
		ctx.Watch(pid)
	}
	s.backlogOnly = m.BacklogOnly
	if s.backlogOnly {
		s.until = a.j.highest
	} else {
		a.subSeq++
		s.seq = a.subSeq
	}
	s.device, s.osType, s.appVersion = m.DeviceId, m.OsType, m.AppVersion
	s.window = windowOf(m.Window, m.WindowBytes)
	for biz, point := range m.After {
		if s.biz[biz] {
			s.dropped[biz]++ // a page under way must not deliver it: it starts again from point
		}
		s.biz[biz] = true
		s.cursor[biz] = point
	}
	s.behind = true
	if len(m.PurgedBefore) > 0 {
		a.purge(ctx, m.PurgedBefore)
		a.j.flush()
	}
	a.page(ctx, s)
	a.ensureTick()
	respond(ctx, &opsyncpb.Subscribed{Stream: a.identity, LastSeq: a.state.LastSeq()})
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

func (a *streamActor) onUnsubscribe(ctx actor.Context, m *opsyncpb.Unsubscribe) {
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
		delete(s.cursor, b)
		s.dropped[b]++
		for id := range s.sent {
			if ref, ok := a.state.Entry(id); ok && ref.BizType == b {
				s.untrack(id)
			}
		}
	}
	a.page(ctx, s) // the room its entries held
}

// deliverFresh sends newly stored entries to the attached clients, unless
// the threshold already removed them. A client whose window an entry does
// not fit falls behind: it gets the entry with a later page.
func (a *streamActor) deliverFresh(ctx actor.Context, fresh []*opsyncpb.Entry) {
	if len(fresh) == 0 || len(a.subs) == 0 {
		return
	}
	now := a.deps.now().UnixMilli()
	out := map[*subscriber][]*opsyncpb.Entry{}
	var order []*subscriber
	var exhausted []uint64
	for _, e := range fresh {
		if a.removal[e.OplogId] {
			continue
		}
		size := state.EntrySize(e)
		for _, s := range a.recipients(e) {
			if s.behind {
				continue // it reads this entry with a page, in order
			}
			if !s.fits(size) {
				s.behind = true
				continue
			}
			s.cursor[e.BizType] = e.OplogId
			switch a.count(s, e, now) {
			case spent:
				exhausted = append(exhausted, e.OplogId)
				continue
			case filtered:
				continue
			}
			if _, ok := out[s]; !ok {
				order = append(order, s)
			}
			out[s] = append(out[s], e)
		}
	}
	a.dropExhausted(ctx, exhausted)
	ds := make([]delivery, 0, len(order))
	for _, s := range order {
		ds = append(ds, delivery{s, out[s]})
	}
	a.send(ctx, ds, false)
}

// recipients are the attached clients an entry goes to live: every one
// that registered its bizType, or for a single-device entry the most
// recently attached of them. A client that came for a global stream's
// backlog alone gets no live entry.
func (a *streamActor) recipients(e *opsyncpb.Entry) []*subscriber {
	var out []*subscriber
	var latest *subscriber
	for _, s := range a.subs {
		if !s.biz[e.BizType] || s.backlogOnly {
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
		switch a.count(s, e, now) {
		case counted:
			out = append(out, e)
		case spent:
			exhausted = append(exhausted, e.OplogId)
		}
	}
	a.dropExhausted(ctx, exhausted)
	return out
}

// A delivery's fate (count).
type fate int

const (
	counted  fate = iota // it goes, counted against the entry's retries
	filtered             // not for this client (osType, version, expired)
	spent                // delivered 1 + max_retries times already
)

// count decides whether e goes to s now and, if it does, counts the
// delivery against the entry's retries and tracks it in s's window.
func (a *streamActor) count(s *subscriber, e *opsyncpb.Entry, now int64) fate {
	if !Deliverable(e, s.osType, s.appVersion, now) {
		return filtered
	}
	device := s.device
	if e.SingleDevice {
		device = state.UserDevice
	}
	if !a.countDelivery(device, e) {
		return spent
	}
	s.track(e, now)
	return counted
}

// dropExhausted removes the entries whose retries are used up.
func (a *streamActor) dropExhausted(ctx actor.Context, ids []uint64) {
	if len(ids) > 0 {
		metrics.Drops.Add(float64(len(ids)))
		a.queueRemoval(ctx, ids, opsyncpb.RemovalReason_REMOVAL_REASON_RETRIES_EXHAUSTED)
	}
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
		if s.retrying || s.backlogOnly {
			continue // a backlog-only client gets its backlog again at its next connect
		}
		var ids []uint64
		for id, e := range s.sent {
			if e.at <= due && !a.removal[id] {
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
