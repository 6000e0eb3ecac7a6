package actors

import (
	"fmt"
	"slices"
	"testing"

	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// pageStep is one step of a paging script: an action, then the
// deliveries it must bring, each exactly (a page is one delivery). Entries
// are named by their push order (1: the first pushed); acks name them so
// too (the journal's sequence numbers, their oplog ids, also count the
// sync points written).
type pageStep struct {
	push   int                        // push this many entries of A, one at a time (live)
	ack    uint64                     // report A's sync point
	window *opsyncpb.SubscriberWindow // a new share (client fields filled in)
	retry  bool                       // let the retry interval pass
	resub  bool                       // subscribe again from the last ack
	want   [][]uint64                 // the next deliveries
}

// A subscriber is handed at most its share of the client's window; the
// rest of its backlog, and live entries that find the window full, come
// page by page from the journal as acks free room.
func TestStreamPagesBacklogsThroughTheWindow(t *testing.T) {
	size := int64(state.EntrySize(entry("A", "m01")))
	cases := []struct {
		name        string
		stream      string
		backlog     int // entries of A stored before the client attaches
		window      uint32
		windowBytes int64
		backlogOnly bool
		steps       []pageStep
	}{
		{name: "a client that never acks holds its window, no more; acks freeing half bring the next page", backlog: 10, window: 4, steps: []pageStep{
			{want: [][]uint64{{1, 2, 3, 4}}},
			{ack: 1},
			{ack: 2, want: [][]uint64{{5, 6}}},
			{ack: 6, want: [][]uint64{{7, 8, 9, 10}}},
			{push: 1}, // the window is full: it waits
			{ack: 10, want: [][]uint64{{11}}},
			{push: 1, want: [][]uint64{{12}}}, // caught up: live again
		}},
		{name: "live entries that find the window full wait, and come in order with a page", window: 2, steps: []pageStep{
			{push: 2, want: [][]uint64{{1}, {2}}},
			{push: 2},
			{ack: 2, want: [][]uint64{{3, 4}}},
			{push: 1},
			{ack: 4, want: [][]uint64{{5}}},
			{push: 1, want: [][]uint64{{6}}},
		}},
		{name: "the window in bytes", backlog: 7, windowBytes: 3 * size, steps: []pageStep{
			{want: [][]uint64{{1, 2, 3}}},
			{ack: 3, want: [][]uint64{{4, 5, 6}}},
			{ack: 6, want: [][]uint64{{7}}},
		}},
		{name: "an entry larger than the window goes alone", backlog: 3, windowBytes: size / 2, steps: []pageStep{
			{want: [][]uint64{{1}}},
			{ack: 1, want: [][]uint64{{2}}},
			{push: 1},
			{ack: 2, want: [][]uint64{{3}}},
		}},
		{name: "retries redeliver the window, not the backlog", backlog: 5, window: 2, steps: []pageStep{
			{want: [][]uint64{{1, 2}}},
			{retry: true, want: [][]uint64{{1, 2}}},
			// Entries 3-5 used none of their retries waiting.
			{ack: 2, want: [][]uint64{{3, 4}}},
			{retry: true, want: [][]uint64{{3, 4}}},
		}},
		{name: "a smaller share holds back pages, a larger one brings one", backlog: 10, window: 4, steps: []pageStep{
			{want: [][]uint64{{1, 2, 3, 4}}},
			{window: &opsyncpb.SubscriberWindow{Window: 2}},
			{ack: 2},
			{ack: 3, want: [][]uint64{{5}}},
			{window: &opsyncpb.SubscriberWindow{Window: 6}, want: [][]uint64{{6, 7, 8, 9}}},
		}},
		{name: "a global stream's backlog-only client pages up to where it attached", stream: "inst/g/A", backlog: 5, window: 2, backlogOnly: true, steps: []pageStep{
			{want: [][]uint64{{1, 2}}},
			{push: 1},
			{ack: 2, want: [][]uint64{{3, 4}}},
			{ack: 4, want: [][]uint64{{5}}},
			{ack: 5},
			{push: 1},
			{resub: true, want: [][]uint64{{6, 7}}}, // its next connect: nothing of these came before
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stream := c.stream
			if stream == "" {
				stream = aliceUser
			}
			h := newStreamTest(t, stream)
			var pushed []uint64 // oplog ids, in push order
			push := func(n int) {
				for range n {
					pushed = append(pushed, h.pushOK(entry("A", fmt.Sprintf("m%02d", len(pushed)+1)))...)
				}
			}
			order := func(es []*opsyncpb.Entry) []uint64 {
				out := make([]uint64, len(es))
				for i, e := range es {
					out[i] = uint64(slices.Index(pushed, e.OplogId) + 1)
				}
				return out
			}
			push(c.backlog)
			p := h.probe("d1")
			subscribe := func(from uint64) {
				request[*opsyncpb.Subscribed](t, h.system, h.pid, &opsyncpb.Subscribe{
					ClientAddress: p.pid.Address, ClientId: p.pid.Id, DeviceId: p.device, After: map[string]uint64{"A": from},
					BacklogOnly: c.backlogOnly, Window: c.window, WindowBytes: uint64(c.windowBytes)})
			}
			subscribe(0)
			var acked uint64
			for i, s := range c.steps {
				switch {
				case s.push > 0:
					push(s.push)
				case s.ack > 0:
					acked = pushed[s.ack-1]
					p.ack(map[string]uint64{"A": acked})
				case s.window != nil:
					s.window.ClientAddress, s.window.ClientId = p.pid.Address, p.pid.Id
					h.system.Root.Send(h.pid, s.window)
				case s.retry:
					h.clock.Advance(testRetry)
				case s.resub:
					subscribe(acked)
				}
				for _, want := range s.want {
					if d := p.next(); !slices.Equal(order(d.entries), want) || d.retry != s.retry {
						t.Fatalf("step %d: delivered %v (retry %v), want %v", i, order(d.entries), d.retry, want)
					}
				}
			}
		})
	}
}

// A device that falls behind pages the user's single-device entries only
// while it is the user's most recently attached device: those went to
// the latest one.
func TestStreamPageLeavesSingleDeviceEntriesToTheLatestDevice(t *testing.T) {
	h := newStreamTest(t, aliceUser)
	single := func(e *opsyncpb.Entry) { e.SingleDevice = true }
	h.pushOK(with(entry("A", "s1"), single), with(entry("A", "s2"), single), entry("A", "m3"))
	d1, d2 := h.probe("d1"), h.probe("d2")
	request[*opsyncpb.Subscribed](t, h.system, h.pid, &opsyncpb.Subscribe{ClientAddress: d1.pid.Address, ClientId: d1.pid.Id, DeviceId: "d1", After: map[string]uint64{"A": 0}, Window: 1})
	d1.expect(1)
	d2.subscribe(map[string]uint64{"A": 0})
	d2.expect(1, 2, 3)
	d1.ack(map[string]uint64{"A": 1})
	d1.expect(3)
}
