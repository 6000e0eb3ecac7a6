package state

import (
	"fmt"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Outbox is an environment's webhooks and the events they are still to
// receive: each webhook has a cursor (the seq up to which it received
// every event it wants), and an event leaves the queue once every
// webhook's cursor passed it. Events are delivered in seq order, so in
// the order their documents made them.
type Outbox struct {
	lastSeq  uint64
	webhooks []*opsyncpb.DocWebhook
	queue    []*opsyncpb.DocHookQueued // ascending seq
	cursors  map[string]uint64
	bytes    int // what the queued events weigh encoded
}

// Bytes is what the queued events weigh encoded (MaxOutboxBytes bounds
// it).
func (o *Outbox) Bytes() int { return o.bytes }

// MaxOutbox bounds the events an outbox keeps undelivered: past it,
// changes are refused rather than memory grown without end.
const (
	MaxOutbox      = 100_000
	MaxOutboxBytes = 64 << 20
)

// NewOutbox returns the state of an outbox without events.
func NewOutbox() *Outbox { return &Outbox{cursors: map[string]uint64{}} }

// LastSeq is the sequence number of the last applied event.
func (o *Outbox) LastSeq() uint64 { return o.lastSeq }

// Webhooks are the environment's webhooks (read-only).
func (o *Outbox) Webhooks() []*opsyncpb.DocWebhook { return o.webhooks }

// Cursor is how far a webhook received the outbox.
func (o *Outbox) Cursor(webhookID string) uint64 { return o.cursors[webhookID] }

// Queued is the number of events kept.
func (o *Outbox) Queued() int { return len(o.queue) }

// Wants reports whether webhook w wants event.
func Wants(w *opsyncpb.DocWebhook, event string) bool {
	if len(w.Events) == 0 {
		return true
	}
	for _, e := range w.Events {
		if e == event {
			return true
		}
	}
	return false
}

// Next is the first queued event after w's cursor that w wants (nil:
// none), and the seq its cursor may move to when nothing it wants comes
// before (skip).
func (o *Outbox) Next(w *opsyncpb.DocWebhook) (next *opsyncpb.DocHookQueued, skip uint64) {
	cur := o.cursors[w.Id]
	skip = cur
	i := sort.Search(len(o.queue), func(i int) bool { return o.queue[i].Seq > cur })
	for ; i < len(o.queue); i++ {
		q := o.queue[i]
		if Wants(w, q.Event.Event) {
			return q, skip
		}
		skip = q.Seq
	}
	return nil, skip
}

// Pending is the number of events w still wants.
func (o *Outbox) Pending(w *opsyncpb.DocWebhook) int {
	n := 0
	for _, q := range o.queue {
		if q.Seq > o.cursors[w.Id] && Wants(w, q.Event.Event) {
			n++
		}
	}
	return n
}

// Apply applies the event stored under seq.
func (o *Outbox) Apply(seq uint64, ev *opsyncpb.Event) error {
	if seq <= o.lastSeq {
		return fmt.Errorf("events: outbox event %d applied after %d", seq, o.lastSeq)
	}
	he, ok := ev.Kind.(*opsyncpb.Event_DocHooks)
	if !ok {
		return fmt.Errorf("events: %T is not an outbox event", ev.Kind)
	}
	switch k := he.DocHooks.Kind.(type) {
	case *opsyncpb.DocHooksEvent_Set:
		cursors := map[string]uint64{}
		for _, w := range k.Set.Webhooks {
			c, known := o.cursors[w.Id]
			if !known {
				// A new webhook receives what comes after it.
				c = o.lastSeq
			}
			cursors[w.Id] = c
		}
		o.cursors = cursors
		o.webhooks = k.Set.Webhooks
	case *opsyncpb.DocHooksEvent_Appended:
		for _, e := range k.Appended.Events {
			q := &opsyncpb.DocHookQueued{Seq: seq, Event: proto.Clone(e).(*opsyncpb.DocHookEvent)}
			o.queue = append(o.queue, q)
			o.bytes += proto.Size(q)
		}
	case *opsyncpb.DocHooksEvent_Delivered:
		if _, ok := o.cursors[k.Delivered.WebhookId]; ok && k.Delivered.Seq > o.cursors[k.Delivered.WebhookId] {
			o.cursors[k.Delivered.WebhookId] = k.Delivered.Seq
		}
	default:
		return fmt.Errorf("events: unknown outbox event %T", he.DocHooks.Kind)
	}
	o.lastSeq = seq
	o.drop()
	return nil
}

// drop removes the events every webhook received (all of them when
// there is no webhook: nobody is to receive them).
func (o *Outbox) drop() {
	low := o.lastSeq
	for _, c := range o.cursors {
		low = min(low, c)
	}
	i := sort.Search(len(o.queue), func(i int) bool { return o.queue[i].Seq > low })
	if i > 0 {
		for _, q := range o.queue[:i] {
			o.bytes -= proto.Size(q)
		}
		o.queue = append([]*opsyncpb.DocHookQueued(nil), o.queue[i:]...)
	}
}

// Snapshot returns the state as a message to store.
func (o *Outbox) Snapshot() *opsyncpb.DocHooksSnapshot {
	s := &opsyncpb.DocHooksSnapshot{LastSeq: o.lastSeq, Webhooks: o.webhooks, Queue: o.queue}
	for id, c := range o.cursors {
		s.Cursors = append(s.Cursors, &opsyncpb.DocHookCursor{WebhookId: id, Seq: c})
	}
	sort.Slice(s.Cursors, func(i, j int) bool { return s.Cursors[i].WebhookId < s.Cursors[j].WebhookId })
	return s
}

// RestoreOutbox rebuilds the state a snapshot was taken of.
func RestoreOutbox(s *opsyncpb.DocHooksSnapshot) *Outbox {
	o := &Outbox{lastSeq: s.LastSeq, webhooks: s.Webhooks, queue: s.Queue, cursors: map[string]uint64{}}
	for _, q := range s.Queue {
		o.bytes += proto.Size(q)
	}
	for _, c := range s.Cursors {
		o.cursors[c.WebhookId] = c.Seq
	}
	return o
}
