package actors

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// deliveriesWritten matches a DeliveriesCounted event with the count n of
// entry id for device.
func deliveriesWritten(device string, id uint64, n uint32) func(*opsyncpb.Event) bool {
	return func(ev *opsyncpb.Event) bool {
		return slices.ContainsFunc(ev.GetDeliveriesCounted().GetCounts(), func(c *opsyncpb.DeliveryCount) bool {
			return c.DeviceId == device && c.OplogId == id && c.Deliveries == n
		})
	}
}

// An entry's retries are counted across activations of its stream: after
// a restart (a crash, a failover) or a passivation between deliveries, the
// entry is still removed after its 1 + max_retries deliveries in all.
func TestStreamRetriesSurviveNewActivations(t *testing.T) {
	const maxRetries = 2 // 3 deliveries in all
	cases := []struct {
		name string
		// before is how many deliveries the first activation makes (the
		// first, then retries) before it goes.
		before int
		// passivate: the stream passivates (its client gone) instead of
		// being stopped from outside.
		passivate bool
	}{
		{name: "a restart after a retry", before: 2},
		{name: "a restart after the last retry", before: 3},
		{name: "a passivation after the first delivery", before: 1, passivate: true},
		{name: "a passivation after a retry", before: 2, passivate: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser, func(d *Deps) {
				if c.passivate {
					d.PassivateAfter = 50 * time.Millisecond
				}
			})
			p := h.probe("d1")
			p.subscribe(map[string]uint64{"A": 0})
			h.pushOK(with(entry("A", "x"), func(e *opsyncpb.Entry) { e.MaxRetries = maxRetries }))
			p.expect(1)
			for range c.before - 1 {
				h.clock.Advance(testRetry)
				p.expectRetry(1)
			}
			if c.passivate {
				stopped := terminated(h.system, h.pid)
				h.system.Root.Send(h.pid, &opsyncpb.Unsubscribe{ClientAddress: p.pid.Address, ClientId: p.pid.Id})
				awaitClosed(t, stopped, "the stream to passivate")
				h.start()
			} else {
				if c.before > 1 {
					h.awaitEvent("the retry's count", deliveriesWritten("d1", 1, uint32(c.before)))
				}
				h.restart()
			}
			again := h.probe("d1")
			again.subscribe(map[string]uint64{"A": 0})
			for range 1 + maxRetries - c.before {
				if d := again.next(); !slices.Equal(ids(d.entries), []uint64{1}) {
					t.Fatalf("delivery after the new activation: %v, want 1", ids(d.entries))
				}
				h.clock.Advance(testRetry)
			}
			h.awaitRemoved(opsyncpb.RemovalReason_REMOVAL_REASON_RETRIES_EXHAUSTED, 1)
			select {
			case d := <-again.got:
				t.Fatalf("a delivery beyond the retries: %v (retry %v)", ids(d.entries), d.retry)
			default:
			}
		})
	}
}

// An ack settles the counts the journal holds: what a new activation
// recovers are the counts of entries still unacknowledged, so that one
// acknowledged out of order (below the device's sync point still, so
// delivered again in a backlog) is not dropped for the deliveries made
// before its ack.
func TestStreamAckSettlesWrittenRetries(t *testing.T) {
	cases := []struct {
		name   string
		points map[string]uint64
		acked  []*opsyncpb.SyncPoint
		want   string // the recovered state's Deliveries()
	}{
		{name: "an out-of-order ack", acked: []*opsyncpb.SyncPoint{sp("A", 2)}, want: "map[d1:map[1:2]]"},
		{name: "a sync point", points: map[string]uint64{"A": 2}, want: "map[]"},
		{name: "a sync point below", points: map[string]uint64{"A": 1}, want: "map[d1:map[2:2]]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			p := h.probe("d1")
			p.subscribe(map[string]uint64{"A": 0})
			h.pushBatch(entry("A", "m1"), entry("A", "m2"))
			p.expect(1, 2)
			h.clock.Advance(testRetry)
			p.expectRetry(1, 2)
			h.awaitEvent("the retry's counts", deliveriesWritten("d1", 2, 2))
			p.ack(c.points, c.acked...)
			h.pushOK(entry("B", "marker")) // written after what the ack queued
			st, _, err := recoverState(context.Background(), h.store, h.journal, state.NewStream,
				restoreWith(func() *opsyncpb.StreamSnapshot { return &opsyncpb.StreamSnapshot{} }, state.RestoreStream))
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(st.Deliveries()); got != c.want {
				t.Fatalf("recovered counts %s, want %s", got, c.want)
			}
		})
	}
}

// Below the disk's floor, where every append is refused, a retry writes no
// count (a refused append would stop the stream): the stream goes on
// redelivering, counting in memory, and writes counts again once space is
// back.
func TestStreamRetriesBelowTheFloorWriteNothing(t *testing.T) {
	disk := newLowDisk()
	h := newStreamTest(t, aliceUser, func(d *Deps) { d.Space = disk.guard })
	p := h.probe("d1")
	p.subscribe(map[string]uint64{"A": 0})
	h.pushOK(entry("A", "x"))
	p.expect(1)
	appended := len(h.store.appendSizes(h.journal))

	disk.set(8 << 20) // below a quarter of the 64 MiB reserve
	for range 2 {
		h.clock.Advance(testRetry)
		p.expectRetry(1)
	}
	h.sync()
	if n := h.store.appendSizes(h.journal)[appended:]; len(n) != 0 {
		t.Fatalf("below the floor the retries appended %v", n)
	}

	disk.set(1 << 30)
	h.clock.Advance(testRetry)
	p.expectRetry(1)
	h.awaitEvent("the count once space is back", deliveriesWritten("d1", 1, 4))
}
