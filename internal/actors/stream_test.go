package actors

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// The stream actor, as README's "Delivery semantics" describes it. Each
// test runs one stream actor over a MemStore with a fake clock; probes
// subscribe to it as client actors do and record what it delivers.

const aliceUser = "inst/u/alice"

func TestStreamPushAnswers(t *testing.T) {
	type step []*opsyncpb.Entry // one entry: a Push; more: a PushBatch
	one := func(biz, msg string) step { return step{entry(biz, msg)} }
	batch := func(es ...*opsyncpb.Entry) step { return es }
	cases := []struct {
		name string
		// whileWriting: the first push is held in the journal while the
		// other steps arrive.
		whileWriting bool
		steps        []step
		want         []string // one answer per entry, in step order
	}{
		{name: "oplog ids rise from 1",
			steps: []step{one("A", "m1"), one("A", "m2"), one("B", "m1")},
			want:  []string{"SUCCESS 1", "SUCCESS 2", "SUCCESS 3"}},
		{name: "a repeated thirdMsgId answers DUPLICATED_BIZ_ID with the first id",
			steps: []step{one("A", "m1"), one("A", "m2"), one("A", "m1")},
			want:  []string{"SUCCESS 1", "SUCCESS 2", "DUPLICATED_BIZ_ID 1"}},
		{name: "a batch answers each slot",
			steps: []step{batch(entry("A", "m1"), entry("A", "m2"), entry("A", "m1"))},
			want:  []string{"SUCCESS 1", "SUCCESS 2", "DUPLICATED_BIZ_ID 1"}},
		{name: "a batch after single pushes",
			steps: []step{one("A", "m1"), batch(entry("A", "m2"), entry("A", "m1"), entry("B", "m1"))},
			want:  []string{"SUCCESS 1", "SUCCESS 2", "DUPLICATED_BIZ_ID 1", "SUCCESS 3"}},
		{name: "a repeat that arrives while the first is being written", whileWriting: true,
			steps: []step{one("A", "m1"), one("A", "m1"), batch(entry("A", "m1"), entry("A", "m2"))},
			want:  []string{"SUCCESS 1", "DUPLICATED_BIZ_ID 1", "DUPLICATED_BIZ_ID 1", "SUCCESS 2"}},
		{name: "pushes that arrive while one is being written follow it", whileWriting: true,
			steps: []step{one("A", "m1"), one("A", "m2"), one("B", "m1")},
			want:  []string{"SUCCESS 1", "SUCCESS 2", "SUCCESS 3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			var got []string
			collect := func(f *actor.Future) {
				res, err := f.Result()
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				switch r := res.(type) {
				case *opsyncpb.PushResult:
					got = append(got, result(r))
				case *opsyncpb.PushBatchResult:
					for _, r := range r.Results {
						got = append(got, result(r))
					}
				default:
					t.Fatalf("answer %T", res)
				}
			}
			var release func()
			if c.whileWriting {
				release = h.store.hold(t, "append").release
			}
			var later []*actor.Future
			for i, s := range c.steps {
				var msg any = &opsyncpb.Push{Entry: s[0]}
				if len(s) > 1 {
					msg = &opsyncpb.PushBatch{Entries: s}
				}
				f := h.system.Root.RequestFuture(h.pid, msg, awaitTimeout)
				if !c.whileWriting {
					collect(f)
					continue
				}
				later = append(later, f)
				if i == 0 {
					h.store.awaitHeld(t, "append")
				}
			}
			if c.whileWriting {
				h.sync() // every step has arrived
				release()
				for _, f := range later {
					collect(f)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("answers %q, want %q", got, c.want)
			}
		})
	}
}

func TestStreamTransientPush(t *testing.T) {
	cases := []struct {
		name        string
		subscribers map[string]string // device -> the bizType it subscribed
		want        string
		receivers   []string
	}{
		{name: "without subscribers: NOT_ONLINE", want: "NOT_ONLINE"},
		{name: "a subscriber of another bizType: NOT_ONLINE", subscribers: map[string]string{"d1": "B"}, want: "NOT_ONLINE"},
		{name: "with a subscriber: SUCCESS, delivered", subscribers: map[string]string{"d1": "A"}, want: "SUCCESS", receivers: []string{"d1"}},
		{name: "with two: both get it", subscribers: map[string]string{"d1": "A", "d2": "A"}, want: "SUCCESS", receivers: []string{"d1", "d2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			probes := map[string]*probe{}
			for device, biz := range c.subscribers {
				probes[device] = h.probe(device)
				probes[device].subscribe(map[string]uint64{biz: 0})
			}
			r := request[*opsyncpb.PushResult](t, h.system, h.pid, &opsyncpb.Push{Entry: entry("A", "t1"), Transient: true})
			if r.Code != c.want {
				t.Fatalf("answer %s, want %s", result(r), c.want)
			}
			for _, device := range c.receivers {
				probes[device].expect(r.OplogId)
			}
			// It stores nothing but its count.
			h.awaitEvent("the push counted", func(ev *opsyncpb.Event) bool { return ev.GetStatsCounted().GetPushes() == 1 })
			if evs := h.events(); len(evs) != 1 {
				t.Fatalf("a transient push stored %d events, want 1 (its count)", len(evs))
			}
		})
	}
}

func TestStreamDeliversToDevices(t *testing.T) {
	cases := []struct {
		name   string
		single bool
		attach []string // devices, in the order they subscribe
		gets   []string // the devices that get the entries
	}{
		{name: "multi-device: every device gets every entry", attach: []string{"d1", "d2"}, gets: []string{"d1", "d2"}},
		{name: "single-device: only the most recently attached", single: true, attach: []string{"d1", "d2"}, gets: []string{"d2"}},
		{name: "single-device: the other order", single: true, attach: []string{"d2", "d1"}, gets: []string{"d1"}},
		{name: "single-device: attaching again makes a device the latest", single: true, attach: []string{"d1", "d2", "d1"}, gets: []string{"d1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			probes := map[string]*probe{}
			for _, device := range c.attach {
				if probes[device] == nil {
					probes[device] = h.probe(device)
				}
				probes[device].subscribe(map[string]uint64{"A": 0, "M": 0})
			}
			single := func(e *opsyncpb.Entry) { e.SingleDevice = c.single }
			h.pushOK(with(entry("A", "m1"), single), with(entry("A", "m2"), single))
			h.pushOK(entry("M", "marker")) // multi-device: everyone gets it, after the others
			for device, p := range probes {
				want := []uint64{3}
				if slices.Contains(c.gets, device) {
					want = []uint64{1, 2, 3}
				}
				p.expect(want...)
			}
		})
	}
}

func TestStreamAckedSingleDeviceEntryGoesNowhereElse(t *testing.T) {
	cases := []struct {
		name          string
		single        bool
		syncDevice    string   // under which device the ack's sync point is stored
		newDeviceGets []uint64 // the backlog of a device attaching after the ack
	}{
		{name: "single-device: acked by one device, no other gets it", single: true, syncDevice: "", newDeviceGets: []uint64{2}},
		{name: "multi-device: every device still gets it", single: false, syncDevice: "d2", newDeviceGets: []uint64{1, 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			d1, d2 := h.probe("d1"), h.probe("d2")
			d1.subscribe(map[string]uint64{"A": 0})
			d2.subscribe(map[string]uint64{"A": 0})
			single := func(e *opsyncpb.Entry) { e.SingleDevice = c.single }
			h.pushOK(with(entry("A", "m1"), single), with(entry("A", "m2"), single))
			d2.expect(1, 2)
			d2.ack(map[string]uint64{"A": 1})
			h.awaitEvent("the sync point", syncPointWritten(c.syncDevice, "A", 1))
			d3 := h.probe("d3")
			d3.subscribe(map[string]uint64{"A": 0})
			d3.expect(c.newDeviceGets...)
		})
	}
}

func TestStreamRetries(t *testing.T) {
	for _, maxRetries := range []uint32{0, 1, 3} {
		t.Run(fmt.Sprintf("maxRetries %d", maxRetries), func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			p := h.probe("d1")
			p.subscribe(map[string]uint64{"A": 0})
			// Entry 1 under test, and entry 2 with retries to spare: its
			// redeliveries show what else is still redelivered.
			h.pushBatch(with(entry("A", "x"), func(e *opsyncpb.Entry) { e.MaxRetries = maxRetries }),
				with(entry("A", "y"), func(e *opsyncpb.Entry) { e.MaxRetries = 6 }))
			p.expect(1, 2)
			for range maxRetries {
				h.clock.Advance(testRetry)
				p.expectRetry(1, 2)
			}
			// 1 + maxRetries deliveries of entry 1: it goes.
			h.clock.Advance(testRetry)
			p.expectRetry(2)
			h.awaitRemoved(opsyncpb.RemovalReason_REMOVAL_REASON_RETRIES_EXHAUSTED, 1)
			h.clock.Advance(testRetry)
			p.expectRetry(2)
			if got := h.status().Dropped; got != 1 {
				t.Fatalf("records' dropped = %d, want 1", got)
			}
		})
	}
}

func TestStreamAckStopsRetries(t *testing.T) {
	cases := []struct {
		name    string
		points  map[string]uint64
		acked   []*opsyncpb.SyncPoint
		retried []uint64
	}{
		{name: "no ack: all redelivered", retried: []uint64{1, 2, 3}},
		{name: "a sync point settles what is below it", points: map[string]uint64{"A": 2}, retried: []uint64{3}},
		{name: "an out-of-order ack settles that entry", acked: []*opsyncpb.SyncPoint{sp("A", 2)}, retried: []uint64{1, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			p := h.probe("d1")
			p.subscribe(map[string]uint64{"A": 0})
			h.pushBatch(entry("A", "m1"), entry("A", "m2"), entry("A", "m3"))
			p.expect(1, 2, 3)
			p.ack(c.points, c.acked...)
			h.sync()
			h.clock.Advance(testRetry)
			p.expectRetry(c.retried...)
		})
	}
}

func TestStreamThreshold(t *testing.T) {
	// Entries are named by bizType and push order ("A1"); their oplog ids
	// come from the answers (removals take sequence numbers too).
	cases := []struct {
		name      string
		threshold uint32 // of bizType A
		batch     bool   // pushed as one PushBatch, else one by one
		pushes    []string
		removed   []string
		kept      []string
	}{
		{name: "only the newest 3 are retained", threshold: 3,
			pushes: []string{"A1", "A2", "A3", "A4", "A5"}, removed: []string{"A1", "A2"}, kept: []string{"A3", "A4", "A5"}},
		{name: "a batch over the threshold", threshold: 2, batch: true,
			pushes: []string{"A1", "A2", "A3", "A4"}, removed: []string{"A1", "A2"}, kept: []string{"A3", "A4"}},
		{name: "other bizTypes do not count", threshold: 1,
			pushes: []string{"B1", "A1", "B2", "A2"}, removed: []string{"A1"}, kept: []string{"B1", "B2", "A2"}},
		{name: "without a threshold all are retained",
			pushes: []string{"A1", "A2", "A3"}, kept: []string{"A1", "A2", "A3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			var es []*opsyncpb.Entry
			for _, name := range c.pushes {
				e := entry(name[:1], name)
				if e.BizType == "A" {
					e.Threshold = c.threshold
				}
				es = append(es, e)
			}
			id := map[string]uint64{}
			if c.batch {
				for i, r := range h.pushBatch(es...) {
					if want := fmt.Sprintf("SUCCESS %d", i+1); r != want { // one append: consecutive ids
						t.Fatalf("push %s: %s, want %s", c.pushes[i], r, want)
					}
					id[c.pushes[i]] = uint64(i + 1)
				}
			} else {
				for i, oplogID := range h.pushOK(es...) {
					id[c.pushes[i]] = oplogID
				}
			}
			idsOf := func(names []string) []uint64 {
				var out []uint64
				for _, n := range names {
					out = append(out, id[n])
				}
				slices.Sort(out)
				return out
			}
			if len(c.removed) > 0 {
				h.awaitRemoved(opsyncpb.RemovalReason_REMOVAL_REASON_THRESHOLD, idsOf(c.removed)...)
			}
			p := h.probe("d1")
			p.subscribe(map[string]uint64{"A": 0, "B": 0})
			p.expect(idsOf(c.kept)...)
		})
	}
}

func TestStreamValidity(t *testing.T) {
	cases := []struct {
		name        string
		validFor    time.Duration // validTimeEnd, after the push (0: none)
		deleteAfter time.Duration // delete_after, after the push (0: none)
		advance     time.Duration // the clock moves on so much before a device attaches
		removed     bool          // removed (EXPIRED) by the tick
		delivered   bool
	}{
		{name: "before validTimeEnd: delivered", validFor: time.Minute, advance: 30 * time.Second, delivered: true},
		{name: "past validTimeEnd: not delivered", validFor: time.Second, advance: 2 * time.Second},
		{name: "past validTimeEnd and delete_after: removed on the next tick", validFor: time.Second, deleteAfter: time.Second, advance: testTick, removed: true},
		{name: "retention: past delete_after: removed on the next tick", deleteAfter: 5 * time.Second, advance: testTick, removed: true},
		{name: "before delete_after: kept", deleteAfter: time.Hour, advance: testTick, delivered: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			at := func(d time.Duration) int64 {
				if d == 0 {
					return 0
				}
				return ms(d)
			}
			h.pushOK(with(entry("A", "x"), func(e *opsyncpb.Entry) { e.ValidTimeEnd, e.DeleteAfter = at(c.validFor), at(c.deleteAfter) }),
				entry("M", "marker"))
			h.sync() // the stream has scheduled its tick for the expiring entry
			h.clock.Advance(c.advance)
			if c.removed {
				h.awaitRemoved(opsyncpb.RemovalReason_REMOVAL_REASON_EXPIRED, 1)
			}
			p := h.probe("d1")
			p.subscribe(map[string]uint64{"A": 0, "M": 0})
			if c.delivered {
				p.expect(1, 2)
			} else {
				p.expect(2)
			}
		})
	}
}

func TestStreamFilters(t *testing.T) {
	cases := []struct {
		name             string
		osType           string // the entry's filters
		minV, maxV       string
		clientOS, client string // what the client reported
		delivered        bool
	}{
		{name: "no filter", clientOS: "ios", client: "1.0", delivered: true},
		{name: "osType matches case-insensitively", osType: "ios", clientOS: "iOS", client: "1.0", delivered: true},
		{name: "another osType", osType: "ios", clientOS: "android", client: "1.0"},
		{name: "below appMinVersion", minV: "2.0", clientOS: "ios", client: "1.9"},
		{name: "at appMinVersion", minV: "2.0", clientOS: "ios", client: "2.0", delivered: true},
		{name: "versions compare numerically", minV: "9.8", clientOS: "ios", client: "10.1.2", delivered: true},
		{name: "above appMaxVersion", maxV: "3.1", clientOS: "ios", client: "3.1.1"},
		{name: "at appMaxVersion", maxV: "3.1", clientOS: "ios", client: "3.1.0", delivered: true},
		{name: "no reported version is the lowest", minV: "1.0", clientOS: "ios", client: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			p := h.probe("d1")
			p.osType, p.appVersion = c.clientOS, c.client
			p.subscribe(map[string]uint64{"A": 0})
			h.pushOK(with(entry("A", "x"), func(e *opsyncpb.Entry) { e.OsType, e.AppMinVersion, e.AppMaxVersion = c.osType, c.minV, c.maxV }),
				entry("A", "marker"))
			if c.delivered {
				p.expect(1, 2)
			} else {
				p.expect(2)
			}
		})
	}
}

func TestStreamBacklog(t *testing.T) {
	// The stream holds A1 B2 A3 A4 B5; a device attaches with sync points,
	// then one more entry is pushed live.
	cases := []struct {
		name  string
		after map[string]uint64
		live  string // the bizType of the entry pushed after attaching (id 6)
		want  []uint64
	}{
		{name: "a bizType from 0", after: map[string]uint64{"A": 0}, live: "A", want: []uint64{1, 3, 4, 6}},
		{name: "after a sync point", after: map[string]uint64{"A": 3}, live: "A", want: []uint64{4, 6}},
		{name: "two bizTypes, each from its own point, in oplog order", after: map[string]uint64{"A": 1, "B": 2}, live: "B", want: []uint64{3, 4, 5, 6}},
		{name: "up to date: only the live entry", after: map[string]uint64{"A": 4, "B": 5}, live: "A", want: []uint64{6}},
		{name: "a bizType without entries", after: map[string]uint64{"C": 0}, live: "C", want: []uint64{6}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			h.pushOK(entry("A", "1"), entry("B", "2"), entry("A", "3"), entry("A", "4"), entry("B", "5"))
			p := h.probe("d1")
			p.subscribe(c.after)
			h.pushOK(entry(c.live, "live"))
			p.expect(c.want...)
		})
	}
}

func TestStreamEntriesPushedDuringBacklogRead(t *testing.T) {
	cases := []struct {
		name   string
		before int  // entries stored before the device attaches
		during int  // entries pushed while its backlog is being read
		batch  bool // those as one PushBatch
	}{
		{name: "single pushes", before: 3, during: 2},
		{name: "a batch", before: 3, during: 4, batch: true},
		{name: "one of each", before: 1, during: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			push := func(n int, prefix string, batch bool) {
				var es []*opsyncpb.Entry
				for i := range n {
					es = append(es, entry("A", fmt.Sprintf("%s%d", prefix, i)))
				}
				if batch {
					h.pushBatch(es...)
				} else {
					h.pushOK(es...)
				}
			}
			push(c.before, "before-", false)
			release := h.store.hold(t, "replay").release
			p := h.probe("d1")
			p.subscribe(map[string]uint64{"A": 0})
			h.store.awaitHeld(t, "replay")
			push(c.during, "during-", c.batch)
			release()
			total := uint64(c.before + c.during)
			p.expect(idRange(1, total)...)
			// Nothing twice: the next delivery is the next entry.
			h.pushOK(entry("A", "after"))
			p.expect(total + 1)
		})
	}
}

func TestStreamBacklogsOfTwoSubscriptionsOverlap(t *testing.T) {
	// A client registers bizType B while the backlog of A is being read.
	// A subscriber reads one page at a time: B's backlog, and what is
	// pushed meanwhile, come with the next page, in oplog order; then
	// entries go live again.
	h := newStreamTest(t, aliceUser)
	h.pushOK(entry("A", "a1"), entry("B", "b1")) // 1, 2
	g := h.store.hold(t, "replay")
	p := h.probe("d1")
	p.subscribe(map[string]uint64{"A": 0})
	h.store.awaitHeld(t, "replay")
	p.subscribe(map[string]uint64{"B": 0})
	h.pushOK(entry("B", "b2"), entry("A", "a2")) // 3, 4
	// A's page, then the next one: B's backlog and what came meanwhile.
	g.releaseOne()
	p.expect(1)
	h.store.awaitHeld(t, "replay")
	g.release()
	p.expect(2, 3, 4)
	p.expect(h.pushOK(entry("B", "after"))...) // and nothing twice
}

func TestStreamSyncPoints(t *testing.T) {
	cases := []struct {
		name    string
		acks    []map[string]uint64 // sent in order by device d1
		written []uint64            // the SyncPointAdvanced ids of A stored, in order
	}{
		{name: "an ack stores the sync point", acks: []map[string]uint64{{"A": 2}}, written: []uint64{2}},
		{name: "acks that advance it each store it", acks: []map[string]uint64{{"A": 1}, {"A": 3}}, written: []uint64{1, 3}},
		{name: "an ack at or below it stores nothing", acks: []map[string]uint64{{"A": 2}, {"A": 2}, {"A": 1}}, written: []uint64{2}},
		{name: "an id this stream never stored stores nothing", acks: []map[string]uint64{{"A": 99}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			p := h.probe("d1")
			p.subscribe(map[string]uint64{"A": 0})
			h.pushBatch(entry("A", "1"), entry("A", "2"), entry("A", "3"))
			p.expect(1, 2, 3)
			for _, a := range c.acks {
				p.ack(a)
				// The next push is answered once it is durable: whatever
				// the ack queued is written by then.
				h.pushOK(entry("B", fmt.Sprintf("after-ack-%d", len(h.events()))))
			}
			var written []uint64
			for _, e := range h.events() {
				if s := e.ev.GetSyncPointAdvanced(); s != nil {
					if s.DeviceId != "d1" || s.BizType != "A" {
						t.Fatalf("sync point %v, want d1's of A", s)
					}
					written = append(written, s.OplogId)
				}
			}
			if !slices.Equal(written, c.written) {
				t.Fatalf("sync points stored %v, want %v", written, c.written)
			}
		})
	}
}

func TestStreamRestartResumesFromSyncPoints(t *testing.T) {
	cases := []struct {
		name     string
		single   bool
		arrivals uint64   // records: entries some device acknowledged
		backlog  []uint64 // of another device attaching after the restart
	}{
		{name: "multi-device", arrivals: 2, backlog: []uint64{1, 2, 3}},
		{name: "single-device", single: true, arrivals: 2, backlog: []uint64{3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, aliceUser)
			p := h.probe("d1")
			p.subscribe(map[string]uint64{"A": 0})
			single := func(e *opsyncpb.Entry) { e.SingleDevice = c.single }
			h.pushOK(with(entry("A", "1"), single), with(entry("A", "2"), single), with(entry("A", "3"), single))
			p.expect(1, 2, 3)
			p.ack(map[string]uint64{"A": 2})
			device := "d1"
			if c.single {
				device = ""
			}
			h.awaitEvent("the sync point", syncPointWritten(device, "A", 2))

			h.restart()
			if got := h.status().Arrivals; got != c.arrivals {
				t.Fatalf("arrivals after the restart = %d, want %d", got, c.arrivals)
			}
			d2 := h.probe("d2")
			d2.subscribe(map[string]uint64{"A": 0})
			d2.expect(c.backlog...)
			// The restarted stream knows the point: the same ack stores
			// nothing more.
			before := len(h.events())
			p.ack(map[string]uint64{"A": 2})
			h.pushOK(entry("B", "marker"))
			if got := len(h.events()); got != before+1 {
				t.Fatalf("the repeated ack stored %d events", got-before-1)
			}
		})
	}
}

func TestStreamSingleDeviceAckUpToARemovedEntry(t *testing.T) {
	// A device acknowledges up to an entry that expired after it was
	// delivered: the single-device entries below it are acknowledged for
	// the user all the same, and no other device gets them.
	h := newStreamTest(t, aliceUser)
	d2 := h.probe("d2")
	d2.subscribe(map[string]uint64{"A": 0})
	single := func(e *opsyncpb.Entry) { e.SingleDevice = true }
	h.pushOK(with(entry("A", "m1"), single), with(entry("A", "m2"), func(e *opsyncpb.Entry) { single(e); e.DeleteAfter = ms(time.Second) }))
	d2.expect(1, 2)
	h.clock.Advance(testTick)
	h.awaitRemoved(opsyncpb.RemovalReason_REMOVAL_REASON_EXPIRED, 2)
	d2.ack(map[string]uint64{"A": 2})
	h.awaitEvent("the user's sync point", syncPointWritten("", "A", 2))
	d3 := h.probe("d3")
	d3.subscribe(map[string]uint64{"A": 0, "M": 0})
	d3.expect(h.pushOK(entry("M", "marker"))...)
}

func TestStreamBacklogDeliveryExhaustsRetries(t *testing.T) {
	// A delivery in a backlog counts against an entry's retries as any
	// other; the removal it leads to is written at once.
	cases := []struct {
		name        string
		stream      string
		backlogOnly bool
	}{
		{name: "a device reconnecting", stream: aliceUser},
		{name: "a global stream's backlog-only clients", stream: "inst/g/A", backlogOnly: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newStreamTest(t, c.stream)
			h.pushOK(with(entry("A", "x"), func(e *opsyncpb.Entry) { e.MaxRetries = 0 }))
			first := h.probe("d1")
			first.backlogOnly = c.backlogOnly
			first.subscribe(map[string]uint64{"A": 0})
			first.expect(1)
			again := h.probe("d1")
			again.backlogOnly = c.backlogOnly
			again.subscribe(map[string]uint64{"A": 0})
			h.awaitRemoved(opsyncpb.RemovalReason_REMOVAL_REASON_RETRIES_EXHAUSTED, 1)
		})
	}
}

// A push that reaches its stream after its caller stopped waiting (a
// message held up by a partition) is not stored: the caller has answered
// SYSTEM_ERROR already. Within the allowance for clock skew it is.
func TestStreamRefusesALatePush(t *testing.T) {
	h := newStreamTest(t, aliceStream)
	now := h.clock.Now()
	late := &opsyncpb.Push{Entry: entry("A", "late"), Deadline: now.Add(-deadlineSkew - time.Millisecond).UnixMilli()}
	if r := request[*opsyncpb.PushResult](t, h.system, h.pid, late); r.Code != "SYSTEM_ERROR" {
		t.Fatalf("a push past its deadline answered %s", result(r))
	}
	lateBatch := &opsyncpb.PushBatch{Entries: []*opsyncpb.Entry{entry("A", "late2")}, Deadline: now.Add(-deadlineSkew - time.Millisecond).UnixMilli()}
	if r := request[*opsyncpb.PushBatchResult](t, h.system, h.pid, lateBatch); len(r.Results) != 1 || r.Results[0].Code != "SYSTEM_ERROR" {
		t.Fatalf("a batch past its deadline answered %v", r.Results)
	}
	skewed := &opsyncpb.Push{Entry: entry("A", "skewed"), Deadline: now.Add(-deadlineSkew / 2).UnixMilli()}
	if r := request[*opsyncpb.PushResult](t, h.system, h.pid, skewed); r.Code != "SUCCESS" || r.OplogId != 1 {
		t.Fatalf("a push within the skew allowance answered %s", result(r))
	}
	if got := len(h.events()); got != 1 {
		t.Fatalf("the journal holds %d events, want only the one in time", got)
	}
}
