package actors

import (
	"slices"
	"testing"
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A stream deletes the entries of a bizType whose deletion became final
// (those pushed before its cutoff) when a subscriber or the node's sweeper
// tells it the cutoff, before it sends anything more.
func TestStreamPurgesFinalDeletions(t *testing.T) {
	cut := map[string]int64{"A": ms(30 * time.Minute)}
	cases := []struct {
		name    string
		sweep   map[string]int64 // the sweeper's cutoffs (nil: no sweep)
		sub     map[string]int64 // the subscription's
		removed []uint64
		backlog []uint64
	}{
		{name: "no final deletion: everything stays", backlog: []uint64{1, 2, 3, 4}},
		{name: "a subscription's cutoff", sub: cut, removed: []uint64{1, 2}, backlog: []uint64{3, 4}},
		{name: "the sweeper's cutoff", sweep: cut, removed: []uint64{1, 2}, backlog: []uint64{3, 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, UserStream(testInstance, "alice"))
			h.pushOK(entry("A", "a1"), entry("A", "a2"), entry("B", "b1"))
			h.clock.Advance(time.Hour)
			h.pushOK(entry("A", "a3")) // pushed after the cutoff: A was created again
			if c.sweep != nil {
				request[*opsyncpb.StreamSwept](t, h.system, h.pid, &opsyncpb.SweepStream{PurgedBefore: c.sweep})
			}
			p := h.probe("dev1")
			request[*opsyncpb.Subscribed](t, h.system, h.pid, &opsyncpb.Subscribe{
				ClientAddress: p.pid.Address, ClientId: p.pid.Id, DeviceId: p.device, After: map[string]uint64{"A": 0, "B": 0}, PurgedBefore: c.sub})
			p.expect(c.backlog...)
			if c.removed != nil {
				h.awaitRemoved(opsyncpb.RemovalReason_REMOVAL_REASON_BIZ_TYPE_DELETED, c.removed...)
			}
		})
	}
}

// A backlog read that began before the client detached a bizType does
// not deliver that bizType: the client may subscribe it again meanwhile
// from an older sync point, and that read's entries must not be
// overtaken (a client skips ids at or below what it has). The next page
// reads it from the new sync point.
func TestStreamBacklogReadSkipsABizTypeDetachedMeanwhile(t *testing.T) {
	h := newStreamTest(t, UserStream(testInstance, "alice"))
	h.pushOK(entry("A", "a1"), entry("B", "b1"), entry("A", "a2"))
	p := h.probe("dev1")
	hold := h.store.hold(t, "replay")
	p.subscribe(map[string]uint64{"A": 0, "B": 0})
	h.store.awaitHeld(t, "replay")
	h.system.Root.Send(h.pid, &opsyncpb.Unsubscribe{ClientAddress: p.pid.Address, ClientId: p.pid.Id, BizTypes: []string{"A"}})
	p.subscribe(map[string]uint64{"A": 0})
	hold.release()
	var got []uint64
	for range 2 {
		got = append(got, ids(p.next().entries)...)
	}
	slices.Sort(got)
	if !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("delivered %v, want each of 1, 2, 3 once", got)
	}
}
