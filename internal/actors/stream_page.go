package actors

import (
	"log/slog"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A subscriber's memory is bounded by its window, not by its backlog: the
// stream hands a subscriber at most its share of the client's window
// (messages and bytes delivered and not acknowledged) and keeps, for the
// rest, only a cursor per bizType. What lies above the cursor is read from
// the journal a page at a time, as acks free room; a live entry that does
// not fit is not queued anywhere (it is durable already) and comes with a
// later page.

// Defaults of a client connection's window, when a subscription names
// none.
const (
	DefaultWindow      = 512
	DefaultWindowBytes = 1 << 20
)

// pageWindow is a subscription's share of its client's window.
type pageWindow struct {
	msgs  int
	bytes int64
}

func windowOf(msgs uint32, bytes uint64) pageWindow {
	w := pageWindow{msgs: int(msgs), bytes: int64(bytes)}
	if w.msgs <= 0 {
		w.msgs = DefaultWindow
	}
	if w.bytes <= 0 {
		w.bytes = DefaultWindowBytes
	}
	return w
}

// sentEntry is an entry delivered to a subscriber and not acknowledged.
type sentEntry struct {
	at   int64 // when it was (last) delivered, ms
	size uint32
}

// track records a delivery of e to s (again, for a retry).
func (s *subscriber) track(e *opsyncpb.Entry, now int64) {
	if old, ok := s.sent[e.OplogId]; ok {
		old.at = now
		s.sent[e.OplogId] = old
		return
	}
	size := state.EntrySize(e)
	s.sent[e.OplogId] = sentEntry{at: now, size: size}
	s.sentBytes += int64(size)
}

// untrack forgets a delivery: acknowledged, or of a bizType the client
// dropped.
func (s *subscriber) untrack(id uint64) {
	if e, ok := s.sent[id]; ok {
		delete(s.sent, id)
		s.sentBytes -= int64(e.size)
	}
}

// fits reports whether an entry of size may be handed to s now: one more
// message and its bytes fit the room its unacknowledged deliveries leave.
// An entry larger than the whole window goes when nothing is in flight.
func (s *subscriber) fits(size uint32) bool {
	if len(s.sent) == 0 {
		return true
	}
	return len(s.sent) < s.window.msgs && s.sentBytes+int64(size) <= s.window.bytes
}

// page hands s the next page of what lies above its cursors, when it is
// behind and has room: at most its window's free messages and bytes,
// read from the journal off the loop. Once a page finds nothing more, s
// is caught up and takes live entries again.
func (a *streamActor) page(ctx actor.Context, s *subscriber) {
	if !s.behind || s.reading || a.j.failed || a.subs[subKey(s.pid)] != s {
		return
	}
	msgs, bytes := s.window.msgs-len(s.sent), s.window.bytes-s.sentBytes
	if len(s.sent) > 0 && (2*msgs < s.window.msgs || 2*bytes < s.window.bytes) {
		return // wait until acks free half the window: fewer, larger reads
	}
	refs, full := a.pageOf(s, msgs, bytes)
	if len(refs) == 0 {
		if !full {
			a.caughtUp(ctx, s)
		}
		return
	}
	ids := make([]uint64, len(refs))
	dropped := map[string]int{}
	for i, r := range refs {
		ids[i] = r.OplogId
		dropped[r.BizType] = s.dropped[r.BizType]
	}
	s.reading = true
	a.readEntries(ids, func(ctx actor.Context, es []*opsyncpb.Entry, err error) {
		s.reading = false
		if err != nil {
			// The subscriber would miss these entries for the rest of its
			// session: stop, so that it attaches to a new activation,
			// which reads again.
			a.deps.Logger.Error("stream backlog read failed", slog.String("stream", a.identity), slog.Any("err", err))
			a.j.fail(ctx, nil, err)
			return
		}
		if a.subs[subKey(s.pid)] != s {
			return // gone meanwhile
		}
		// A bizType dropped (or subscribed anew) while the page was read
		// starts again from its new cursor: these are not for it.
		es = slices.DeleteFunc(es, func(e *opsyncpb.Entry) bool { return s.dropped[e.BizType] != dropped[e.BizType] })
		a.deliver(ctx, s, a.retained(es), false)
		a.j.flush() // exhausted retries queue removals
		a.page(ctx, s)
	})
}

// pageOf picks the entries of s's next page, in oplog order, and moves its
// cursors past them (and past what is not for it: entries being removed,
// single-device entries of another device). full: the page stopped for
// want of room, not at the end of what s may get.
func (a *streamActor) pageOf(s *subscriber, msgs int, bytes int64) (refs []state.Ref, full bool) {
	var size int64
	// EachAfter reads s.cursor as it goes; moving a bizType's cursor to
	// the entry at hand leaves the later entries above it.
	a.state.EachAfter(s.cursor, func(r state.Ref) bool {
		if s.backlogOnly && r.OplogId > s.until {
			return false
		}
		if !a.removal[r.OplogId] && (!r.SingleDevice || a.latest(r.BizType) == s) {
			n := int64(state.RefSize(r))
			if len(refs) == msgs || ((len(refs) > 0 || len(s.sent) > 0) && size+n > bytes) {
				full = true
				return false
			}
			refs = append(refs, r)
			size += n
		}
		s.cursor[r.BizType] = r.OplogId
		return true
	})
	return refs, full
}

// latest is the most recently attached subscriber of bizType that takes
// live entries: the one device a single-device entry goes to.
func (a *streamActor) latest(biz string) *subscriber {
	var l *subscriber
	for _, s := range a.subs {
		if s.biz[biz] && !s.backlogOnly && (l == nil || s.seq > l.seq) {
			l = s
		}
	}
	return l
}

// caughtUp: s has been handed everything it may get so far. A subscriber
// that takes live entries gets them from now on; one that came for its
// backlog alone is done and detached.
func (a *streamActor) caughtUp(ctx actor.Context, s *subscriber) {
	s.behind = false
	if s.backlogOnly {
		delete(a.subs, subKey(s.pid))
		ctx.Unwatch(s.pid)
	}
}

// onSubscriberWindow changes a subscription's share of its client's
// window.
func (a *streamActor) onSubscriberWindow(ctx actor.Context, m *opsyncpb.SubscriberWindow) {
	if s := a.subs[subKey(actor.NewPID(m.ClientAddress, m.ClientId))]; s != nil {
		s.window = windowOf(m.Window, m.WindowBytes)
		a.page(ctx, s)
	}
}
