package actors

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// The client actor of one connection (alice on dev1, bizTypes A and B
// registered), attached to fake streams: a test hands it deliveries
// through the hub as a stream would, sends its Ack frames, and reads the
// frames it writes to the connection.

// clientAct is one step of a client script and the frames written after
// it (as sinkFrame.String shows them).
type clientAct struct {
	deliver    []*opsyncpb.Entry
	retry      bool // deliver is a redelivery
	ack        []*opsyncpb.SyncPoint
	unregister string
	frames     []string
}

func deliver(es ...*opsyncpb.Entry) clientAct   { return clientAct{deliver: es} }
func redeliver(es ...*opsyncpb.Entry) clientAct { return clientAct{deliver: es, retry: true} }
func ack(sps ...*opsyncpb.SyncPoint) clientAct  { return clientAct{ack: sps} }
func unregister(biz string) clientAct           { return clientAct{unregister: biz} }

// writes sets the frames the step writes.
func (a clientAct) writes(frames ...string) clientAct { a.frames = frames; return a }

// acks acknowledges ids of bizType.
func acks(biz string, ids ...uint64) []*opsyncpb.SyncPoint {
	out := make([]*opsyncpb.SyncPoint, len(ids))
	for i, id := range ids {
		out[i] = sp(biz, id)
	}
	return out
}

// entsRange are entries of bizType with ids first..last.
func entsRange(biz string, first, last uint64) []*opsyncpb.Entry {
	return ents(biz, idRange(first, last)...)
}

type clientCase struct {
	name   string
	window int
	script []clientAct
}

func runClientCases(t *testing.T, cases []clientCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct := newClientTest(t, c.window, map[string]uint64{"A": 0, "B": 0})
			for _, a := range c.script {
				switch {
				case a.deliver != nil:
					ct.deliver(aliceStream, a.retry, a.deliver...)
				case a.ack != nil:
					ct.ack(a.ack...)
				case a.unregister != "":
					ct.client.Handle(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_UnregisterBiz{UnregisterBiz: &opsyncpb.UnregisterBiz{BizType: a.unregister}}})
				}
				ct.sink.expectFrames(a.frames...)
			}
		})
	}
}

func TestClientWindow(t *testing.T) {
	runClientCases(t, []clientCase{
		{name: "window 2: two in flight until acks arrive, then the rest", window: 2, script: []clientAct{
			deliver(ents("A", 1, 2, 3, 4, 5)...).writes("A1 A2"),
			ack(sp("A", 1)).writes("A3"),
			ack(sp("A", 2)).writes("A4"),
			ack(acks("A", 3, 4)...).writes("A5"),
		}},
		{name: "window 2, one delivery per entry", window: 2, script: []clientAct{
			deliver(ent("A", 1)).writes("A1 (shared)"),
			deliver(ent("A", 2)).writes("A2 (shared)"),
			deliver(ent("A", 3)),
			deliver(ent("A", 4)),
			deliver(ent("A", 5)),
			ack(acks("A", 1, 2)...).writes("A3 A4"),
			ack(sp("A", 3)).writes("A5"),
		}},
		{name: "an ack out of order frees its own room; the oldest keeps its", window: 2, script: []clientAct{
			deliver(ents("A", 1, 2, 3, 4)...).writes("A1 A2"),
			ack(sp("A", 2)).writes("A3"),
			ack(sp("A", 1)).writes("A4"),
		}},
		{name: "an ack of what was not delivered does not open the window", window: 2, script: []clientAct{
			deliver(ents("A", 1, 2, 3)...).writes("A1 A2"),
			ack(acks("A", 3, 7)...),
			ack(sp("A", 1)).writes("A3"),
		}},
		{name: "several deliveries queued leave in frames of at most 256 messages", window: 300, script: []clientAct{
			// A stream sends a long backlog in deliveries of at most 256.
			deliver(entsRange("A", 1, 256)...).writes("A1-256 (shared)"),
			deliver(entsRange("A", 257, 512)...).writes("A257-300"),
			deliver(entsRange("A", 513, 600)...),
			ack(acks("A", idRange(1, 300)...)...).writes("A301-556", "A557-600"),
		}},
	})
}

func TestClientSharedFrames(t *testing.T) {
	// A delivery whose entries are all new and fit the window is written
	// as the hub encoded it (SendEncoded); any other as a frame of its own.
	runClientCases(t, []clientCase{
		{name: "new entries that fit the window: the hub's bytes", window: 10, script: []clientAct{
			deliver(ents("A", 1, 2)...).writes("A1 A2 (shared)"),
			deliver(ent("B", 3)).writes("B3 (shared)"),
		}},
		{name: "more than the window has room for: its own frame", window: 3, script: []clientAct{
			deliver(ent("A", 1)).writes("A1 (shared)"),
			deliver(ents("A", 2, 3, 4)...).writes("A2 A3"),
		}},
		{name: "entries queued before: only the new ones", window: 10, script: []clientAct{
			deliver(ents("A", 1, 2)...).writes("A1 A2 (shared)"),
			deliver(ents("A", 2, 3)...).writes("A3"),
		}},
		{name: "a bizType not registered: without it", window: 10, script: []clientAct{
			deliver(ent("A", 1), ent("X", 2), ent("A", 3)).writes("A1 A3"),
		}},
		{name: "a redelivery: what is still unacknowledged, its own frame", window: 10, script: []clientAct{
			deliver(ents("A", 1, 2, 3)...).writes("A1-3 (shared)"),
			ack(sp("A", 2)),
			redeliver(ents("A", 1, 2, 3)...).writes("A1 A3"),
		}},
	})
}

func TestClientUnregister(t *testing.T) {
	runClientCases(t, []clientCase{
		{name: "unregistering a bizType drops its queued entries", window: 2, script: []clientAct{
			deliver(ent("A", 1), ent("A", 2), ent("A", 3), ent("B", 4), ent("A", 5), ent("B", 6)).writes("A1 A2"),
			// A1 and A2 leave the window: B's entries take it.
			unregister("A").writes("B4 B6"),
			deliver(ent("A", 7), ent("B", 8)),
			ack(sp("B", 4)).writes("B8"),
		}},
	})
}

func TestClientReportsAcks(t *testing.T) {
	// Each Ack frame becomes one report to the stream: the sync point of a
	// bizType when the ack moved it, else the entry as acked out of order.
	cases := []struct {
		name      string
		delivered []*opsyncpb.Entry
		acks      [][]*opsyncpb.SyncPoint // Ack frames, in order
		reports   []string                // what the stream gets for each that reports anything
	}{
		{name: "contiguous: a sync point", delivered: ents("A", 1, 2, 3),
			acks: [][]*opsyncpb.SyncPoint{{sp("A", 1)}, {sp("A", 2), sp("A", 3)}}, reports: []string{"A=1", "A=3"}},
		{name: "out of order: acked, until the gap closes", delivered: ents("A", 1, 2, 3),
			acks: [][]*opsyncpb.SyncPoint{{sp("A", 2)}, {sp("A", 1)}, {sp("A", 3)}}, reports: []string{"acked A2", "A=2", "A=3"}},
		{name: "two bizTypes in one frame: one report", delivered: []*opsyncpb.Entry{ent("A", 1), ent("B", 2), ent("A", 3)},
			acks: [][]*opsyncpb.SyncPoint{{sp("A", 1), sp("B", 2), sp("A", 3)}}, reports: []string{"A=3 B=2"}},
		{name: "what was not delivered, or acked before, is not reported", delivered: ents("A", 1, 2),
			acks: [][]*opsyncpb.SyncPoint{{sp("A", 9)}, {sp("A", 1)}, {sp("A", 1)}, {sp("A", 2)}}, reports: []string{"A=1", "A=2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct := newClientTest(t, 10, map[string]uint64{"A": 0, "B": 0})
			ct.deliver(aliceStream, false, c.delivered...)
			ct.sink.next()
			for _, a := range c.acks {
				ct.ack(a...)
			}
			for i, want := range c.reports {
				if got := ackReport(ct.nextAck(aliceStream)); got != want {
					t.Fatalf("report %d = %q, want %q", i, got, want)
				}
			}
		})
	}
}

// ackReport shows an AckSyncPoints as "A=3 B=2 acked A5".
func ackReport(m *opsyncpb.AckSyncPoints) string {
	var parts []string
	for biz, p := range m.Points {
		parts = append(parts, fmt.Sprintf("%s=%d", biz, p))
	}
	sort.Strings(parts)
	for _, a := range m.Acked {
		parts = append(parts, fmt.Sprintf("acked %s%d", a.BizType, a.OplogId))
	}
	return strings.Join(parts, " ")
}

func TestClientSubscribesToItsStreams(t *testing.T) {
	// BizTypes without a config may target the user or the device: the
	// client attaches to both streams, from the sync points it connected
	// with.
	ct := newClientTest(t, 10, map[string]uint64{"A": 4, "B": 0})
	subs := map[string]*opsyncpb.Subscribe{aliceStream: ct.userSub}
	subs[dev1Stream] = ct.awaitFromClient(dev1Stream, func(m proto.Message) bool { _, ok := m.(*opsyncpb.Subscribe); return ok }).(*opsyncpb.Subscribe)
	for stream, s := range subs {
		var after []string
		for biz, p := range s.After {
			after = append(after, fmt.Sprintf("%s=%d", biz, p))
		}
		slices.Sort(after)
		if got := strings.Join(after, " "); got != "A=4 B=0" || s.DeviceId != "dev1" || s.BacklogOnly {
			t.Fatalf("%s: subscription after %s, device %q, backlog only %v; want after A=4 B=0, dev1, live", stream, got, s.DeviceId, s.BacklogOnly)
		}
	}
}

func TestClientSubscribesAgainWhenAStreamDoesNotAnswer(t *testing.T) {
	cases := []struct {
		name    string
		answers bool
		next    string // the bizTypes of the next subscription to the user's stream
	}{
		{name: "no answer within subscribeTimeout: subscribes again", next: "A B"},
		{name: "answered: no second subscription", answers: true, next: "C"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct := startClientTest(t, 10, map[string]uint64{"A": 0, "B": 0}, c.answers)
			ct.clock.Advance(subscribeTimeout)
			// A registration after the timeout: its subscription comes next
			// unless the client subscribed again.
			ct.client.Handle(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_RegisterBiz{RegisterBiz: &opsyncpb.RegisterBiz{BizType: "C"}}})
			s := ct.awaitFromClient(aliceStream, func(m proto.Message) bool { _, ok := m.(*opsyncpb.Subscribe); return ok }).(*opsyncpb.Subscribe)
			var got []string
			for biz := range s.After {
				got = append(got, biz)
			}
			slices.Sort(got)
			if strings.Join(got, " ") != c.next {
				t.Fatalf("next subscription for %v, want %s", got, c.next)
			}
		})
	}
}

// Acks of a global stream's entries are gathered for ackDelay and reach
// the stream as one report (it hears from every client); those of the
// user's stream go at once (its sync points decide what a reinstall gets).
func TestClientGathersGlobalAcks(t *testing.T) {
	global := &opsyncpb.BizTypeConfig{BizType: "G", Scope: opsyncpb.Scope_SCOPE_GLOBAL, PushToOnline: true, Online: true, Persistent: true}
	ct := startClientTest(t, 10, map[string]uint64{"A": 0, "G": 0}, true, global)
	gStream := GlobalStream(testInstance, "G")
	ct.awaitFromClient(gStream, func(m proto.Message) bool { _, ok := m.(*opsyncpb.Subscribe); return ok })
	ct.deliver(gStream, false, ents("G", 1, 2, 3)...)
	ct.sink.next()
	ct.deliver(aliceStream, false, ent("A", 7))
	ct.sink.next()
	ct.ack(sp("G", 1))
	ct.ack(sp("G", 2))
	ct.ack(sp("A", 7))
	if got := ackReport(ct.nextAck(aliceStream)); got != "A=7" {
		t.Fatalf("the user stream got %q, want A=7 at once", got)
	}
	ct.ack(sp("G", 3))
	ct.clock.awaitTimerWithin(t, ackDelay)
	ct.clock.Advance(ackDelay)
	if got := ackReport(ct.nextAck(gStream)); got != "G=3" {
		t.Fatalf("the global stream got %q, want one report G=3", got)
	}
}

// Every linkCheckInterval a client checks each stream it is attached to; a
// stream that no longer knows it (or does not answer) gets a new
// subscription, from the client's cursors.
func TestClientChecksItsStreams(t *testing.T) {
	ct := newClientTest(t, 10, map[string]uint64{"A": 4})
	ct.clock.awaitTimerAt(t, linkCheckInterval)
	ct.clock.Advance(linkCheckInterval)
	check := ct.awaitFromClient(aliceStream, func(m proto.Message) bool { _, ok := m.(*opsyncpb.StreamStatus); return ok }).(*opsyncpb.StreamStatus)
	if check.CheckClientId != ct.client.pid.Id {
		t.Fatalf("the check names client %q, want %q", check.CheckClientId, ct.client.pid.Id)
	}
	again := ct.awaitFromClient(aliceStream, func(m proto.Message) bool { _, ok := m.(*opsyncpb.Subscribe); return ok }).(*opsyncpb.Subscribe)
	if again.After["A"] != 4 {
		t.Fatalf("attached again after %v, want the client's cursor A=4", again.After)
	}
}

// When the cluster routes a stream to another activation (the set moved
// its identity), the client attaches to that one at its next check, from
// its cursors, without asking the old one anything.
func TestClientFollowsAMovedStream(t *testing.T) {
	ct := newClientTest(t, 10, map[string]uint64{"A": 7})
	ct.grains.mu.Lock()
	moved := ct.grains.spawn(aliceStream)
	ct.grains.pids[aliceStream] = moved
	ct.grains.mu.Unlock()
	ct.clock.awaitTimerAt(t, linkCheckInterval)
	ct.clock.Advance(linkCheckInterval)
	m := ct.awaitFromClient(aliceStream, func(proto.Message) bool { return true })
	sub, ok := m.(*opsyncpb.Subscribe)
	if !ok {
		t.Fatalf("after the stream moved the client sent %T first, want a Subscribe to the new activation", m)
	}
	if sub.After["A"] != 7 {
		t.Fatalf("attached again after %v, want the client's cursor A=7", sub.After)
	}
}
