package actors

import (
	"testing"
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A push succeeds once for its key's whole time (the retention period),
// whatever removed its entry before, across a restart; afterwards it is a
// new push.
func TestStreamRepeatAfterRemoval(t *testing.T) {
	keyTime := time.Hour
	keep := func(e *opsyncpb.Entry) { e.KeepKeyUntil = ms(keyTime) }
	cases := []struct {
		name   string
		reason opsyncpb.RemovalReason
		remove func(h *streamTest) // pushes m1 (id 1) and has it removed
	}{
		{"trimmed", opsyncpb.RemovalReason_REMOVAL_REASON_THRESHOLD, func(h *streamTest) {
			one := func(e *opsyncpb.Entry) { keep(e); e.Threshold = 1 }
			h.pushOK(with(entry("A", "m1"), one), with(entry("A", "m2"), one))
		}},
		{"expired", opsyncpb.RemovalReason_REMOVAL_REASON_EXPIRED, func(h *streamTest) {
			h.pushOK(with(entry("A", "m1"), func(e *opsyncpb.Entry) { keep(e); e.ValidTimeEnd, e.DeleteAfter = ms(time.Second), ms(time.Second) }))
			h.sync() // the tick for the expiring entry is scheduled
			h.clock.Advance(testTick)
		}},
		{"dropped", opsyncpb.RemovalReason_REMOVAL_REASON_RETRIES_EXHAUSTED, func(h *streamTest) {
			h.pushOK(with(entry("A", "m1"), func(e *opsyncpb.Entry) { keep(e); e.MaxRetries = 0 }))
			p := h.probe("d1")
			p.subscribe(map[string]uint64{"A": 0})
			p.expect(1)
			h.clock.Advance(testRetry)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			c.remove(h)
			h.awaitRemoved(c.reason, 1)
			if got := result(h.push(entry("A", "m1"))); got != "DUPLICATED_BIZ_ID 1" {
				t.Fatalf("m1 after its removal: %s, want DUPLICATED_BIZ_ID 1", got)
			}
			h.restart()
			if got := result(h.push(entry("A", "m1"))); got != "DUPLICATED_BIZ_ID 1" {
				t.Fatalf("m1 after a restart: %s, want DUPLICATED_BIZ_ID 1", got)
			}
			h.clock.Advance(keyTime)
			if r := h.push(entry("A", "m1")); r.Code != "SUCCESS" {
				t.Fatalf("m1 past its key's time: %s, want SUCCESS", result(r))
			}
		})
	}
}

// The records count what happened: pushes whose entries were trimmed,
// arrivals of entries since removed, non-persistent pushes and their
// arrivals (once, whichever device acknowledges first), the global
// entries a user's clients acknowledged (each once); a restart keeps the
// counts (recovering from a snapshot every 2 events and the tail after it).
func TestStreamStatistics(t *testing.T) {
	h := newStreamTest(t, aliceUser, func(d *Deps) { d.SnapshotEvery = 2 })
	one := func(e *opsyncpb.Entry) { e.Threshold = 1 }
	d1, d2 := h.probe("d1"), h.probe("d2")
	d1.subscribe(map[string]uint64{"A": 0, "T": 0})
	d2.subscribe(map[string]uint64{"T": 0})
	counts := func(what string, pushes, arrivals uint64) {
		t.Helper()
		h.store.await(t, what, func() bool {
			st := h.status()
			return st.Pushes == pushes && st.Arrivals == arrivals
		})
	}

	m1 := h.pushOK(with(entry("A", "m1"), one))[0]
	d1.expect(m1)
	d1.ack(map[string]uint64{"A": m1})
	// Its sync point is written (and soon trimmed below a snapshot).
	counts("m1 arrived", 1, 1)
	h.pushOK(with(entry("A", "m2"), one), with(entry("A", "m3"), one)) // trims m1 and m2
	h.store.await(t, "m1 and m2 trimmed", func() bool { return len(h.status().Entries) == 1 })
	counts("3 pushes, m1 arrived", 3, 1)

	tr := request[*opsyncpb.PushResult](t, h.system, h.pid, &opsyncpb.Push{Entry: entry("T", "t1"), Transient: true})
	if tr.Code != "SUCCESS" {
		t.Fatalf("transient push: %s", result(tr))
	}
	counts("the transient push", 4, 1)
	d1.ack(map[string]uint64{"T": tr.OplogId})
	d2.ack(map[string]uint64{"T": tr.OplogId})
	counts("its arrival, once", 4, 2)

	h.system.Root.Send(h.pid, &opsyncpb.GlobalArrivals{DeviceId: "d1", Entries: []*opsyncpb.SyncPoint{sp("G", 5), sp("G", 7)}})
	h.system.Root.Send(h.pid, &opsyncpb.GlobalArrivals{DeviceId: "d2", Entries: []*opsyncpb.SyncPoint{sp("G", 5), sp("G", 7)}})
	counts("two global arrivals", 4, 4)

	h.restart()
	counts("the same after a restart", 4, 4)
}

// Below the disk's floor, where the store refuses every append, the
// statistics that only a StatsCounted event would carry are not counted:
// a non-persistent push and its ack append nothing (a refused append
// would stop the stream). Once space is back they count again.
func TestStreamCountsNoStatisticsBelowTheFloor(t *testing.T) {
	disk := newLowDisk()
	h := newStreamTest(t, aliceUser, func(d *Deps) { d.Space = disk.guard })
	p := h.probe("d1")
	p.subscribe(map[string]uint64{"T": 0})
	transient := func() uint64 {
		t.Helper()
		r := request[*opsyncpb.PushResult](t, h.system, h.pid, &opsyncpb.Push{Entry: entry("T", "t"), Transient: true})
		if r.Code != "SUCCESS" {
			t.Fatalf("transient push: %s", result(r))
		}
		p.expect(r.OplogId)
		return r.OplogId
	}

	disk.set(8 << 20) // below a quarter of the 64 MiB reserve
	p.ack(map[string]uint64{"T": transient()})
	h.sync()
	if n := h.store.appendSizes(h.journal); len(n) != 0 {
		t.Fatalf("below the floor a transient push and its ack appended %v", n)
	}

	disk.set(1 << 30)
	transient()
	h.awaitEvent("the push counted once space is back", func(ev *opsyncpb.Event) bool { return ev.GetStatsCounted().GetPushes() == 1 })
}
