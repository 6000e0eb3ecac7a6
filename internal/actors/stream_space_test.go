package actors

import (
	"slices"
	"sync/atomic"
	"testing"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// lowDisk is a space guard whose free space the test sets.
type lowDisk struct {
	free  atomic.Uint64
	guard *persistence.SpaceGuard
}

func newLowDisk() *lowDisk {
	d := &lowDisk{}
	d.free.Store(1 << 30)
	d.guard = persistence.NewSpaceGuard(persistence.SpaceOptions{Dir: "test", Reserve: 64 << 20,
		Free: func() (uint64, error) { return d.free.Load(), nil }})
	d.guard.Sample()
	return d
}

func (d *lowDisk) set(free uint64) { d.free.Store(free); d.guard.Sample() }

// While its node's disk is below the reserve a stream refuses new entries
// with SYSTEM_ERROR and stores nothing for them, answers repeats of stored
// ones as before, keeps delivering what it holds and storing acks; it is
// not failed, and takes new entries again once space is back.
func TestStreamOnALowDisk(t *testing.T) {
	cases := []struct {
		name string
		// low: sent while the disk is low, after m1 and m2 were stored.
		low  []*opsyncpb.Entry // one: a Push; more: a PushBatch
		want []string
	}{
		{name: "a new entry is refused", low: []*opsyncpb.Entry{entry("A", "m3")}, want: []string{"SYSTEM_ERROR 0"}},
		{name: "a repeat of a stored one is a duplicate", low: []*opsyncpb.Entry{entry("A", "m1")}, want: []string{"DUPLICATED_BIZ_ID 1"}},
		{name: "a batch answers each slot",
			low:  []*opsyncpb.Entry{entry("A", "m2"), entry("A", "m3"), entry("B", "m1")},
			want: []string{"DUPLICATED_BIZ_ID 2", "SYSTEM_ERROR 0", "SYSTEM_ERROR 0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			disk := newLowDisk()
			h := newStreamTest(t, aliceUser, func(d *Deps) { d.Space = disk.guard })
			h.pushOK(entry("A", "m1"), entry("A", "m2"))
			appends := len(h.store.appendSizes(h.journal))

			disk.set(32 << 20)
			var got []string
			if len(c.low) == 1 {
				got = []string{result(h.push(c.low[0]))}
			} else {
				got = h.pushBatch(c.low...)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("answers %q, want %q", got, c.want)
			}
			if n := len(h.store.appendSizes(h.journal)); n != appends {
				t.Fatalf("refused pushes were appended: %d appends, %d before", n, appends)
			}

			// Delivery of what is stored goes on, and the ack is stored.
			p := h.probe("d1")
			p.subscribe(map[string]uint64{"A": 0})
			p.expect(1, 2)
			p.ack(map[string]uint64{"A": 2})
			h.awaitEvent("the sync point of A at 2", func(ev *opsyncpb.Event) bool {
				s := ev.GetSyncPointAdvanced()
				return s != nil && s.BizType == "A" && s.OplogId == 2
			})

			disk.set(1 << 30)
			r := h.push(entry("A", "m9"))
			if r.Code != "SUCCESS" || r.OplogId <= 2 {
				t.Fatalf("push once space is back: %s", result(r))
			}
			p.expect(r.OplogId)
		})
	}
}
