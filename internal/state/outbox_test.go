package state

import (
	"testing"

	"github.com/opsync/opsync/proto/opsyncpb"
)

func TestOutboxCursorsAndDrop(t *testing.T) {
	o := NewOutbox()
	seq := uint64(0)
	apply := func(e *opsyncpb.DocHooksEvent) {
		t.Helper()
		seq++
		if err := o.Apply(seq, &opsyncpb.Event{Kind: &opsyncpb.Event_DocHooks{DocHooks: e}}); err != nil {
			t.Fatal(err)
		}
	}
	appendEv := func(name string) {
		apply(&opsyncpb.DocHooksEvent{Kind: &opsyncpb.DocHooksEvent_Appended{Appended: &opsyncpb.DocHooksAppended{Events: []*opsyncpb.DocHookEvent{{EventId: name, Event: name}}}}})
	}
	delivered := func(id string, s uint64) {
		apply(&opsyncpb.DocHooksEvent{Kind: &opsyncpb.DocHooksEvent_Delivered{Delivered: &opsyncpb.DocHooksDelivered{WebhookId: id, Seq: s}}})
	}
	all := &opsyncpb.DocWebhook{Id: "all"}
	some := &opsyncpb.DocWebhook{Id: "some", Events: []string{"comment.removed"}}
	appendEv("before") // no webhook yet: nobody wants it
	if o.Queued() != 0 {
		t.Fatalf("an event without webhooks is kept: %d", o.Queued())
	}
	apply(&opsyncpb.DocHooksEvent{Kind: &opsyncpb.DocHooksEvent_Set{Set: &opsyncpb.DocHooksSet{Webhooks: []*opsyncpb.DocWebhook{all, some}}}})
	appendEv("comment.added")   // seq 3
	appendEv("comment.removed") // seq 4
	if n, _ := o.Next(all); n.Seq != 3 || o.Pending(all) != 2 {
		t.Fatalf("all: next %v pending %d", n, o.Pending(all))
	}
	if n, skip := o.Next(some); n.Seq != 4 || skip != 3 || o.Pending(some) != 1 {
		t.Fatalf("some: next %v skip %d", n, skip)
	}
	delivered("all", 3)
	delivered("all", 2) // a cursor never goes back
	if o.Cursor("all") != 3 || o.Queued() != 2 {
		t.Fatalf("cursor %d queued %d: the slower webhook keeps both", o.Cursor("all"), o.Queued())
	}
	delivered("some", 4)
	delivered("all", 4)
	if o.Queued() != 0 || o.Bytes() != 0 {
		t.Fatalf("every webhook received everything, %d kept (%d bytes)", o.Queued(), o.Bytes())
	}
	appendEv("comment.added") // seq 9
	r := RestoreOutbox(o.Snapshot())
	if r.Bytes() != o.Bytes() || o.Bytes() == 0 {
		t.Fatalf("restored weighs %d, was %d", r.Bytes(), o.Bytes())
	}
	if n, skip := r.Next(some); n != nil || skip != 9 {
		t.Fatalf("restored: some wants nothing more, may skip to 9: %v %d", n, skip)
	}
	if n, _ := r.Next(all); n == nil || n.Event.EventId != "comment.added" {
		t.Fatalf("restored: all's next %v", n)
	}
	// A webhook set again keeps its cursor; a new one starts after the set.
	apply(&opsyncpb.DocHooksEvent{Kind: &opsyncpb.DocHooksEvent_Set{Set: &opsyncpb.DocHooksSet{Webhooks: []*opsyncpb.DocWebhook{all, {Id: "new"}}}}})
	if o.Cursor("all") != 4 || o.Cursor("new") != 9 || o.Queued() != 1 {
		t.Fatalf("after a new set: all %d new %d queued %d", o.Cursor("all"), o.Cursor("new"), o.Queued())
	}
}
