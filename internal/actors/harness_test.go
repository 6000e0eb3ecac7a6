package actors

// The harness of the actor tests: a fake clock, a store that reports what
// reaches it, stream actors spawned in a plain actor system (a stream's
// only cluster dependency is the ClusterInit it gets first), probes that
// record what a stream delivers, fake streams and grains for the client
// actor, and a sink that decodes what a client actor writes.
//
// Nothing here sleeps: every wait is for an event (an answer, a delivery, a
// change in the store) and ends with a failure at awaitTimeout.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// awaitTimeout bounds every wait: what has not happened by then is taken
// as never happening. Every wait ends with its event, so a passing test
// never waits this long; it is generous for a loaded CI machine, where a
// goroutine may not run for seconds.
const awaitTimeout = 10 * time.Second

// epoch is the fake clock's start.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Retry and tick intervals of the test streams: one Advance(testRetry)
// makes every delivery of the previous step due and fires one tick.
const (
	testRetry = 10 * time.Second
	testTick  = 10 * time.Second
)

// ---- clock ----

// fakeClock is a Clock that moves only when a test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	added  chan struct{} // a signal after each AfterFunc
}

type fakeTimer struct {
	at   time.Time
	f    func()
	done bool // fired or stopped
}

func newFakeClock() *fakeClock { return &fakeClock{now: epoch, added: make(chan struct{}, 1)} }

// awaitTimerWithin waits until a callback is due within d from now (an
// actor scheduled it), failing t after a few seconds.
func (c *fakeClock) awaitTimerWithin(t *testing.T, d time.Duration) {
	t.Helper()
	c.awaitTimer(t, d, func(at, limit time.Time) bool { return !at.After(limit) })
}

// awaitTimerAt waits until a callback is due exactly d from now: the one
// an actor schedules d ahead, not a sooner one it scheduled first.
func (c *fakeClock) awaitTimerAt(t *testing.T, d time.Duration) {
	t.Helper()
	c.awaitTimer(t, d, func(at, limit time.Time) bool { return at.Equal(limit) })
}

func (c *fakeClock) awaitTimer(t *testing.T, d time.Duration, match func(at, limit time.Time) bool) {
	t.Helper()
	deadline := time.After(awaitTimeout)
	for {
		c.mu.Lock()
		limit := c.now.Add(d)
		for _, tm := range c.timers {
			if !tm.done && match(tm.at, limit) {
				c.mu.Unlock()
				return
			}
		}
		c.mu.Unlock()
		select {
		case <-c.added:
		case <-deadline:
			t.Fatalf("no timer due within %s was scheduled", d)
		}
	}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	select {
	case c.added <- struct{}{}:
	default:
	}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if t.done {
			return false
		}
		t.done = true
		return true
	}
}

// Advance moves the clock forward by d and calls the callbacks that fell
// due, earliest first, on the caller's goroutine (they only send messages).
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	kept := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.done:
		case !t.at.After(c.now):
			t.done = true
			due = append(due, t)
		default:
			kept = append(kept, t)
		}
	}
	clear(c.timers[len(kept):])
	c.timers = kept
	c.mu.Unlock()
	sort.SliceStable(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		t.f()
	}
}

// ms is the fake clock's time d after epoch in milliseconds, as entries
// carry times.
func ms(d time.Duration) int64 { return epoch.Add(d).UnixMilli() }

// ---- store ----

// testStore is a MemStore that records the appends and replays reaching
// it, can hold them (to catch an actor while its journal IO is under way),
// and reports every change so that a test can await a state of the store.
type testStore struct {
	*persistence.MemStore

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change
	appends    []appendCall
	replays    []replayCall
	snapshots  []snapshotCall
	holdAppend *gate       // while set, appends wait at it
	holdReplay *gate       // likewise for replays
	held       chan string // a call that started waiting at a gate
}

type appendCall struct {
	journal string
	n       int // events
}

type snapshotCall struct {
	journal string
	seq     uint64
	bytes   int
}

type replayCall struct {
	journal string
	from    uint64
}

func newTestStore() *testStore {
	return &testStore{MemStore: persistence.NewMemStore(), changed: make(chan struct{}), held: make(chan string, 64)}
}

func (s *testStore) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *testStore) Append(ctx context.Context, journal string, first uint64, events [][]byte) error {
	s.mu.Lock()
	g := s.holdAppend
	s.mu.Unlock()
	if g != nil {
		g.wait()
	}
	err := s.MemStore.Append(ctx, journal, first, events)
	s.mu.Lock()
	s.appends = append(s.appends, appendCall{journal, len(events)})
	s.mu.Unlock()
	s.notify()
	return err
}

func (s *testStore) Replay(ctx context.Context, journal string, from, to uint64, max int, fn func(uint64, []byte) error) (uint64, error) {
	s.mu.Lock()
	g := s.holdReplay
	s.replays = append(s.replays, replayCall{journal, from})
	s.mu.Unlock()
	if g != nil {
		g.wait()
	}
	return s.MemStore.Replay(ctx, journal, from, to, max, fn)
}

func (s *testStore) DeleteRange(ctx context.Context, journal string, from, to uint64) error {
	defer s.notify()
	return s.MemStore.DeleteRange(ctx, journal, from, to)
}

func (s *testStore) DeleteRanges(ctx context.Context, journal string, ranges []persistence.SeqRange) error {
	defer s.notify()
	return s.MemStore.DeleteRanges(ctx, journal, ranges)
}

func (s *testStore) SaveSnapshot(ctx context.Context, journal string, seq uint64, data []byte) error {
	defer s.notify()
	s.mu.Lock()
	s.snapshots = append(s.snapshots, snapshotCall{journal, seq, len(data)})
	s.mu.Unlock()
	return s.MemStore.SaveSnapshot(ctx, journal, seq, data)
}

// snapshotsOf are the snapshots of journal saved so far.
func (s *testStore) snapshotsOf(journal string) []snapshotCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []snapshotCall
	for _, c := range s.snapshots {
		if c.journal == journal {
			out = append(out, c)
		}
	}
	return out
}

func (s *testStore) DeleteSnapshots(ctx context.Context, journal string, from, to uint64) error {
	defer s.notify()
	return s.MemStore.DeleteSnapshots(ctx, journal, from, to)
}

// gate holds the appends (or replays) that reach a testStore until it
// lets them through, one at a time or all.
type gate struct {
	s       *testStore
	what    string
	mu      sync.Mutex
	waiting []chan struct{}
	open    bool
}

// hold makes later appends (or replays) wait at a gate.
func (s *testStore) hold(t *testing.T, what string) *gate {
	t.Helper()
	g := &gate{s: s, what: what}
	s.mu.Lock()
	switch what {
	case "append":
		s.holdAppend = g
	case "replay":
		s.holdReplay = g
	default:
		t.Fatalf("hold %q", what)
	}
	s.mu.Unlock()
	t.Cleanup(g.release)
	return g
}

func (g *gate) wait() {
	g.mu.Lock()
	if g.open {
		g.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	g.waiting = append(g.waiting, ch)
	g.mu.Unlock()
	g.s.held <- g.what
	<-ch
}

// releaseOne lets the call that has waited longest through.
func (g *gate) releaseOne() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiting) > 0 {
		close(g.waiting[0])
		g.waiting = g.waiting[1:]
	}
}

// release lets every waiting call through and holds no more.
func (g *gate) release() {
	g.s.mu.Lock()
	if g.s.holdAppend == g {
		g.s.holdAppend = nil
	}
	if g.s.holdReplay == g {
		g.s.holdReplay = nil
	}
	g.s.mu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = true
	for _, ch := range g.waiting {
		close(ch)
	}
	g.waiting = nil
}

// awaitHeld waits until a call of the kind is waiting on a hold.
func (s *testStore) awaitHeld(t *testing.T, what string) {
	t.Helper()
	select {
	case got := <-s.held:
		if got != what {
			t.Fatalf("a %s was held, want a %s", got, what)
		}
	case <-time.After(awaitTimeout):
		t.Fatalf("no %s reached the store", what)
	}
}

// appendSizes are the sizes of the appends to journal so far.
func (s *testStore) appendSizes(journal string) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for _, a := range s.appends {
		if a.journal == journal {
			out = append(out, a.n)
		}
	}
	return out
}

// replaysOf are the replays of journal so far.
func (s *testStore) replaysOf(journal string) []replayCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []replayCall
	for _, r := range s.replays {
		if r.journal == journal {
			out = append(out, r)
		}
	}
	return out
}

// journalEvent is one stored event.
type journalEvent struct {
	seq uint64
	ev  *opsyncpb.Event
}

// events reads the events stored in journal, bypassing the recording.
func (s *testStore) events(t *testing.T, journal string) []journalEvent {
	t.Helper()
	var out []journalEvent
	_, err := s.MemStore.Replay(context.Background(), journal, 1, persistence.MaxSeq, -1, func(seq uint64, b []byte) error {
		ev := &opsyncpb.Event{}
		if err := proto.Unmarshal(b, ev); err != nil {
			return err
		}
		out = append(out, journalEvent{seq, ev})
		return nil
	})
	if err != nil {
		t.Fatalf("read journal %s: %v", journal, err)
	}
	return out
}

// seqs are the sequence numbers of events.
func seqs(evs []journalEvent) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.seq
	}
	return out
}

// snapshotSeq is the seq of journal's latest snapshot, 0 for none.
func (s *testStore) snapshotSeq(t *testing.T, journal string) uint64 {
	t.Helper()
	seq, _, _, err := s.MemStore.LoadSnapshot(context.Background(), journal, persistence.MaxSeq)
	if err != nil {
		t.Fatalf("load snapshot of %s: %v", journal, err)
	}
	return seq
}

// await waits until cond holds, checking it after every change of the
// store.
func (s *testStore) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(awaitTimeout)
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for the store: %s", what)
		}
	}
}

// ---- actor system ----

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newSystem is a plain actor system with this node's hub; no cluster.
func newSystem(t *testing.T) *actor.ActorSystem {
	t.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
	t.Cleanup(system.Shutdown)
	if err := StartHub(system); err != nil {
		t.Fatal(err)
	}
	return system
}

// spawnGrain spawns an actor of a cluster kind and gives it its identity,
// as the cluster does at activation.
func spawnGrain(system *actor.ActorSystem, props *actor.Props, identity, kind string) *actor.PID {
	pid := system.Root.Spawn(props)
	system.Root.Send(pid, &cluster.ClusterInit{Identity: cluster.NewClusterIdentity(identity, kind)})
	return pid
}

// request asks pid and returns its answer, which must be a T.
func request[T proto.Message](t *testing.T, system *actor.ActorSystem, pid *actor.PID, msg proto.Message) T {
	t.Helper()
	return answer[T](t, system.Root.RequestFuture(pid, msg, awaitTimeout))
}

// answer waits for a future's answer, which must be a T.
func answer[T proto.Message](t *testing.T, f *actor.Future) T {
	t.Helper()
	res, err := f.Result()
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	v, ok := res.(T)
	if !ok {
		t.Fatalf("answer %T %v, want a %T", res, res, v)
	}
	return v
}

// terminated is closed once pid has stopped.
func terminated(system *actor.ActorSystem, pid *actor.PID) <-chan struct{} {
	done := make(chan struct{})
	system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.Started:
			ctx.Watch(pid)
		case *actor.Terminated:
			if m.Who.Equal(pid) {
				close(done)
				ctx.Stop(ctx.Self())
			}
		}
	}))
	return done
}

func awaitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(awaitTimeout):
		t.Fatalf("timed out waiting: %s", what)
	}
}

// ---- entries ----

// entry is a multi-device entry of bizType with thirdMsgId msg, with the
// default config's 6 retries.
func entry(biz, msg string) *opsyncpb.Entry {
	return &opsyncpb.Entry{BizType: biz, ThirdMsgId: msg, Payload: "payload of " + msg, MaxRetries: 6}
}

// with returns e changed by f, for table rows.
func with(e *opsyncpb.Entry, f func(*opsyncpb.Entry)) *opsyncpb.Entry {
	f(e)
	return e
}

// ids are the oplog ids of entries.
func ids(es []*opsyncpb.Entry) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.OplogId
	}
	return out
}

// idRange is first..last.
func idRange(first, last uint64) []uint64 {
	var out []uint64
	for id := first; id <= last; id++ {
		out = append(out, id)
	}
	return out
}

// result is a push answer as "CODE id".
func result(r *opsyncpb.PushResult) string { return fmt.Sprintf("%s %d", r.Code, r.OplogId) }

// ---- streams ----

// streamTest is one stream actor over a test store and fake clock.
type streamTest struct {
	t        *testing.T
	system   *actor.ActorSystem
	clock    *fakeClock
	store    *testStore
	deps     *Deps
	identity string
	journal  string
	pid      *actor.PID
}

// newStreamTest starts the stream actor of identity; tune changes its deps.
func newStreamTest(t *testing.T, identity string, tune ...func(*Deps)) *streamTest {
	t.Helper()
	clock, store := newFakeClock(), newTestStore()
	d := &Deps{Store: store, Clock: clock, RetryInterval: testRetry, TickInterval: testTick, Logger: quiet}
	for _, f := range tune {
		f(d)
	}
	h := &streamTest{t: t, system: newSystem(t), clock: clock, store: store, deps: d.withDefaults(),
		identity: identity, journal: JournalID(KindStream, identity)}
	h.start()
	return h
}

// start activates the stream (anew, on the same store).
func (h *streamTest) start() {
	deps := h.deps
	h.pid = spawnGrain(h.system, actor.PropsFromProducer(func() actor.Actor { return newStreamActor(deps) }), h.identity, KindStream)
}

// restart stops the stream's activation and starts a new one.
func (h *streamTest) restart() {
	h.t.Helper()
	if err := h.system.Root.StopFuture(h.pid).Wait(); err != nil {
		h.t.Fatalf("stop stream: %v", err)
	}
	h.start()
}

// push pushes one entry and returns the answer.
func (h *streamTest) push(e *opsyncpb.Entry) *opsyncpb.PushResult {
	h.t.Helper()
	return request[*opsyncpb.PushResult](h.t, h.system, h.pid, &opsyncpb.Push{Entry: e})
}

// pushOK pushes entries one at a time, each of which must succeed, and
// returns their ids.
func (h *streamTest) pushOK(es ...*opsyncpb.Entry) []uint64 {
	h.t.Helper()
	var out []uint64
	for _, e := range es {
		r := h.push(e)
		if r.Code != "SUCCESS" {
			h.t.Fatalf("push %s/%s: %s", e.BizType, e.ThirdMsgId, result(r))
		}
		out = append(out, r.OplogId)
	}
	return out
}

// pushBatch pushes entries as one PushBatch.
func (h *streamTest) pushBatch(es ...*opsyncpb.Entry) []string {
	h.t.Helper()
	res := request[*opsyncpb.PushBatchResult](h.t, h.system, h.pid, &opsyncpb.PushBatch{Entries: es})
	out := make([]string, len(res.Results))
	for i, r := range res.Results {
		out[i] = result(r)
	}
	return out
}

// sync returns once the stream has handled every message sent to it
// before: it asks a question that changes nothing (a backlog of no
// bizTypes).
func (h *streamTest) sync() {
	h.t.Helper()
	request[*opsyncpb.Subscribed](h.t, h.system, h.pid, &opsyncpb.Subscribe{BacklogOnly: true})
}

// status is the stream's records.
func (h *streamTest) status() *opsyncpb.StreamStatusResult {
	h.t.Helper()
	return request[*opsyncpb.StreamStatusResult](h.t, h.system, h.pid, &opsyncpb.StreamStatus{})
}

// events are the stream's stored events.
func (h *streamTest) events() []journalEvent { return h.store.events(h.t, h.journal) }

// stored reports whether the journal still holds the record of seq.
func (h *streamTest) stored(seq uint64) bool {
	for _, e := range h.events() {
		if e.seq == seq {
			return true
		}
	}
	return false
}

// awaitEvent waits until the journal holds an event that match accepts.
func (h *streamTest) awaitEvent(what string, match func(*opsyncpb.Event) bool) {
	h.t.Helper()
	h.store.await(h.t, what, func() bool {
		return slices.ContainsFunc(h.events(), func(e journalEvent) bool { return match(e.ev) })
	})
}

// awaitRemoved waits until the journal records the removal of ids for
// reason and their records are deleted.
func (h *streamTest) awaitRemoved(reason opsyncpb.RemovalReason, ids ...uint64) {
	h.t.Helper()
	h.store.await(h.t, fmt.Sprintf("removal of %v (%v), records deleted", ids, reason), func() bool {
		removed := map[uint64]bool{}
		for _, e := range h.events() {
			if r := e.ev.GetEntriesRemoved(); r != nil && r.Reason == reason {
				for _, id := range r.OplogIds {
					removed[id] = true
				}
			}
		}
		for _, id := range ids {
			if !removed[id] || h.stored(id) {
				return false
			}
		}
		return true
	})
}

// syncPointWritten matches a SyncPointAdvanced event.
func syncPointWritten(device, biz string, id uint64) func(*opsyncpb.Event) bool {
	return func(ev *opsyncpb.Event) bool {
		p := ev.GetSyncPointAdvanced()
		return p != nil && p.DeviceId == device && p.BizType == biz && p.OplogId == id
	}
}

// ---- probes: recording subscribers ----

// probe is an actor that subscribes to a stream as a client actor would
// and records every delivery the hub hands it, as the stream sent it.
type probe struct {
	t          *testing.T
	h          *streamTest
	pid        *actor.PID
	device     string
	osType     string
	appVersion string
	// backlogOnly: it subscribes for the backlog alone, as clients of a
	// global bizType without pushToOnline do.
	backlogOnly bool
	got         chan *hubDelivery
}

// probe spawns a subscriber for device.
func (h *streamTest) probe(device string) *probe {
	p := &probe{t: h.t, h: h, device: device, got: make(chan *hubDelivery, 1024)}
	p.pid = h.system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if d, ok := ctx.Message().(*hubDelivery); ok {
			p.got <- d
		}
	}))
	return p
}

// subscribe attaches the probe for the bizTypes in after, from their sync
// points; it returns once the stream has registered it (its backlog may
// still be on the way).
func (p *probe) subscribe(after map[string]uint64) {
	p.t.Helper()
	request[*opsyncpb.Subscribed](p.t, p.h.system, p.h.pid, &opsyncpb.Subscribe{
		ClientAddress: p.pid.Address, ClientId: p.pid.Id, DeviceId: p.device, After: after,
		OsType: p.osType, AppVersion: p.appVersion, BacklogOnly: p.backlogOnly,
	})
}

// ack reports sync points, and entries acknowledged out of order, as the
// client actor does.
func (p *probe) ack(points map[string]uint64, acked ...*opsyncpb.SyncPoint) {
	p.h.system.Root.Send(p.h.pid, &opsyncpb.AckSyncPoints{DeviceId: p.device, Points: points, Acked: acked,
		ClientAddress: p.pid.Address, ClientId: p.pid.Id})
}

// next is the next delivery.
func (p *probe) next() *hubDelivery {
	p.t.Helper()
	select {
	case d := <-p.got:
		return d
	case <-time.After(awaitTimeout):
		p.t.Fatalf("%s: no delivery", p.device)
		return nil
	}
}

// expect reads deliveries until they carried want, which they must, in
// order and nothing else.
func (p *probe) expect(want ...uint64) {
	p.t.Helper()
	var got []uint64
	for len(got) < len(want) {
		got = append(got, ids(p.next().entries)...)
		if !slices.Equal(got, want[:min(len(got), len(want))]) {
			break
		}
	}
	if !slices.Equal(got, want) {
		p.t.Fatalf("%s got %v, want %v", p.device, got, want)
	}
}

// expectRetry reads the next delivery, which must be a redelivery of want.
func (p *probe) expectRetry(want ...uint64) {
	p.t.Helper()
	d := p.next()
	if !d.retry || !slices.Equal(ids(d.entries), want) {
		p.t.Fatalf("%s got %v (retry %v), want a redelivery of %v", p.device, ids(d.entries), d.retry, want)
	}
}

// ---- clients ----

// fakeGrains is the cluster as a client actor sees it: stream identities
// mapped to actors of this system, spawned on first use, and the
// instance's configs.
type fakeGrains struct {
	mu      sync.Mutex
	pids    map[string]*actor.PID
	spawn   func(identity string) *actor.PID
	configs []*opsyncpb.BizTypeConfig
	// sources finds the state sources of testSourceKind (nil: none).
	sources func(identity string) *actor.PID
}

func (g *fakeGrains) Get(identity, kind string) *actor.PID {
	g.mu.Lock()
	defer g.mu.Unlock()
	if kind != KindStream {
		if g.sources == nil || kind != testSourceKind {
			return nil
		}
		return g.sources(identity)
	}
	pid := g.pids[identity]
	if pid == nil {
		pid = g.spawn(identity)
		g.pids[identity] = pid
	}
	return pid
}

func (g *fakeGrains) Request(identity, kind string, msg interface{}, _ ...cluster.GrainCallOption) (interface{}, error) {
	if _, ok := msg.(*opsyncpb.ListBizTypes); ok && kind == KindInstance {
		return &opsyncpb.BizTypeList{InstanceExists: true, Configs: g.configs}, nil
	}
	return nil, fmt.Errorf("fake grains: no answer to %T for %s/%s", msg, kind, identity)
}

// realStreams are grains whose streams are stream actors with deps.
func realStreams(system *actor.ActorSystem, deps *Deps, configs ...*opsyncpb.BizTypeConfig) *fakeGrains {
	return &fakeGrains{pids: map[string]*actor.PID{}, configs: configs, spawn: func(identity string) *actor.PID {
		return spawnGrain(system, actor.PropsFromProducer(func() actor.Actor { return newStreamActor(deps) }), identity, KindStream)
	}}
}

// clientTest is one client actor attached to fake streams: actors that
// record what the client sends a stream (Subscribe, Unsubscribe,
// AckSyncPoints, GlobalArrivals) and answer subscriptions. A test sends
// the deliveries itself, through the node's hub.
type clientTest struct {
	t      *testing.T
	system *actor.ActorSystem
	clock  *fakeClock
	client *Client
	sink   *testSink
	grains *fakeGrains
	// userSub is the client's subscription to its user's stream.
	userSub *opsyncpb.Subscribe

	mu     sync.Mutex
	inboxs map[string]chan proto.Message // stream identity -> what the client sent it
}

// Identities of the client tests: user alice on device dev1.
const (
	testInstance = "inst"
	aliceStream  = testInstance + "/u/alice"
	dev1Stream   = testInstance + "/d/dev1"
)

// newClientTest starts a client actor of alice on dev1 with window and the
// bizTypes registered at connect (with their sync points), and waits until
// it has subscribed to its user's stream.
func newClientTest(t *testing.T, window int, biz map[string]uint64) *clientTest {
	t.Helper()
	return startClientTest(t, window, biz, true)
}

// startClientTest is newClientTest with fake streams that answer
// subscriptions or, answer false, leave them unanswered (a stream on a
// node that died).
func startClientTest(t *testing.T, window int, biz map[string]uint64, answer bool, configs ...*opsyncpb.BizTypeConfig) *clientTest {
	return startClientTestWith(t, window, biz, answer, nil, configs...)
}

// startClientTestWith is startClientTest whose grains find state sources
// with sources.
func startClientTestWith(t *testing.T, window int, biz map[string]uint64, answer bool, sources func(string) *actor.PID, configs ...*opsyncpb.BizTypeConfig) *clientTest {
	t.Helper()
	c := launchClientTest(t, ClientParams{InstanceID: testInstance, UserID: "alice", DeviceID: "dev1", BizTypes: biz, Window: window}, answer, sources, configs...)
	c.userSub = c.awaitFromClient(aliceStream, func(m proto.Message) bool { _, ok := m.(*opsyncpb.Subscribe); return ok }).(*opsyncpb.Subscribe)
	return c
}

// launchClientTest starts a client actor with p (its sink, logger and
// clock the test's) on fake streams, without waiting for anything.
func launchClientTest(t *testing.T, p ClientParams, answer bool, sources func(string) *actor.PID, configs ...*opsyncpb.BizTypeConfig) *clientTest {
	t.Helper()
	c := &clientTest{t: t, system: newSystem(t), clock: newFakeClock(), sink: newTestSink(t), inboxs: map[string]chan proto.Message{}}
	grains := &fakeGrains{pids: map[string]*actor.PID{}, spawn: func(identity string) *actor.PID {
		inbox := c.inbox(identity)
		return c.system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
			switch m := ctx.Message().(type) {
			case *opsyncpb.Subscribe:
				if answer { // first: the answer is on its way once a test sees the subscription
					ctx.Respond(&opsyncpb.Subscribed{Stream: identity})
				}
				inbox <- m
			case *opsyncpb.Unsubscribe:
				inbox <- m
			case *opsyncpb.AckSyncPoints:
				inbox <- m
			case *opsyncpb.GlobalArrivals:
				inbox <- m
			case *opsyncpb.SubscriberWindow:
				inbox <- m
			case *opsyncpb.StreamStatus:
				// A check of the client's attachment: these fake streams
				// forget every client, so the client must attach again.
				ctx.Respond(&opsyncpb.StreamStatusResult{Stream: identity, Connected: false})
				inbox <- m
			}
		}))
	}, configs: configs, sources: sources}
	c.grains = grains
	p.Sink, p.Logger, p.Clock = c.sink, quiet, c.clock
	c.client = StartClient(c.system, grains, p)
	return c
}

// inbox is what the client sent the stream of identity.
func (c *clientTest) inbox(identity string) chan proto.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := c.inboxs[identity]
	if ch == nil {
		ch = make(chan proto.Message, 1024)
		c.inboxs[identity] = ch
	}
	return ch
}

// awaitFromClient reads what the client sent the stream of identity until
// match accepts a message, which it returns.
func (c *clientTest) awaitFromClient(identity string, match func(proto.Message) bool) proto.Message {
	c.t.Helper()
	deadline := time.After(awaitTimeout)
	for {
		select {
		case m := <-c.inbox(identity):
			if match(m) {
				return m
			}
		case <-deadline:
			c.t.Fatalf("timed out waiting for the client's message to %s", identity)
			return nil
		}
	}
}

// nextAck is the next AckSyncPoints the client sent to identity.
func (c *clientTest) nextAck(identity string) *opsyncpb.AckSyncPoints {
	c.t.Helper()
	return c.awaitFromClient(identity, func(m proto.Message) bool { _, ok := m.(*opsyncpb.AckSyncPoints); return ok }).(*opsyncpb.AckSyncPoints)
}

// deliver sends entries of stream to the client through the node's hub,
// as a stream does, and returns once the client has them in its mailbox:
// whatever is sent to the client afterwards (an ack) comes after them.
func (c *clientTest) deliver(stream string, retry bool, es ...*opsyncpb.Entry) {
	c.t.Helper()
	hub := hubFor(c.system.Address(), stream)
	c.system.Root.Send(hub, &opsyncpb.HubDeliveries{Stream: stream, Entries: es, ClientIds: []string{c.client.pid.Id}, Retry: retry})
	// The hub shard hands out in order: once a marker sent after the
	// delivery reached another actor, the delivery is in the client's
	// mailbox.
	reached := make(chan struct{})
	marker := c.system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*hubDelivery); ok {
			close(reached)
			ctx.Stop(ctx.Self())
		}
	}))
	c.system.Root.Send(hub, &opsyncpb.HubDeliveries{Stream: stream, Entries: []*opsyncpb.Entry{ent("MARKER", 1)}, ClientIds: []string{marker.Id}, Retry: true})
	awaitClosed(c.t, reached, "the hub handing out a delivery")
}

// ack sends the client's Ack frame for entries.
func (c *clientTest) ack(received ...*opsyncpb.SyncPoint) {
	c.client.Handle(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Ack{Ack: &opsyncpb.Ack{Received: received}}})
}

// sp is a bizType and oplog id, as acks name entries.
func sp(biz string, id uint64) *opsyncpb.SyncPoint {
	return &opsyncpb.SyncPoint{BizType: biz, OplogId: id}
}

// ent is an entry with a given oplog id, as streams deliver them.
func ent(biz string, id uint64) *opsyncpb.Entry {
	return &opsyncpb.Entry{BizType: biz, OplogId: id, ThirdMsgId: fmt.Sprintf("%s-%d", biz, id), Payload: "p"}
}

// ents are entries of bizType with ids.
func ents(biz string, ids ...uint64) []*opsyncpb.Entry {
	out := make([]*opsyncpb.Entry, len(ids))
	for i, id := range ids {
		out[i] = ent(biz, id)
	}
	return out
}

// ---- sink ----

// testSink is a client connection that records the frames written to it.
type testSink struct {
	t      *testing.T
	frames chan sinkFrame
}

// sinkFrame is one Deliver (or state, or Connected) frame written to the
// connection.
type sinkFrame struct {
	connected bool
	shared    bool   // written with SendEncoded (the hub's bytes)
	bytes     []byte // what SendEncoded got
	msgs      []*opsyncpb.SyncMessage
	state     *opsyncpb.StateUpdate // a state frame's
}

func newTestSink(t *testing.T) *testSink {
	return &testSink{t: t, frames: make(chan sinkFrame, 4096)}
}

func (s *testSink) Send(f *opsyncpb.ServerFrame) error {
	s.frames <- sinkFrame{connected: f.GetConnected() != nil, msgs: f.GetDeliver().GetMessages()}
	return nil
}

func (s *testSink) SendEncoded(b []byte, _ bool) error {
	f := &opsyncpb.ServerFrame{}
	if err := proto.Unmarshal(b, f); err != nil {
		return err
	}
	s.frames <- sinkFrame{shared: true, bytes: b, msgs: f.GetDeliver().GetMessages(), state: f.GetState()}
	return nil
}

func (s *testSink) Close(int, string) {}

// next is the next frame written.
func (s *testSink) next() sinkFrame {
	s.t.Helper()
	select {
	case f := <-s.frames:
		return f
	case <-time.After(awaitTimeout):
		s.t.Fatal("no frame written to the connection")
		return sinkFrame{}
	}
}

// String shows a frame as its messages, "A1 A2 B3", a run of three or
// more consecutive ids of one bizType as "A1-256", and "(shared)" at the
// end when it was written as the hub's bytes.
func (f sinkFrame) String() string {
	if f.connected {
		return "connected"
	}
	if f.state != nil {
		return fmt.Sprintf("%s/%s v%d", f.state.Kind, f.state.Id, f.state.Version)
	}
	var parts []string
	for i := 0; i < len(f.msgs); {
		j := i
		for j+1 < len(f.msgs) && f.msgs[j+1].BizType == f.msgs[i].BizType && f.msgs[j+1].OplogId == f.msgs[j].OplogId+1 {
			j++
		}
		if j-i >= 2 {
			parts = append(parts, fmt.Sprintf("%s%d-%d", f.msgs[i].BizType, f.msgs[i].OplogId, f.msgs[j].OplogId))
			i = j + 1
			continue
		}
		parts = append(parts, fmt.Sprintf("%s%d", f.msgs[i].BizType, f.msgs[i].OplogId))
		i++
	}
	s := strings.Join(parts, " ")
	if f.shared {
		s += " (shared)"
	}
	return s
}

// expectFrames reads frames, which must be want (as their String).
func (s *testSink) expectFrames(want ...string) {
	s.t.Helper()
	for i, w := range want {
		select {
		case f := <-s.frames:
			if got := f.String(); got != w {
				s.t.Fatalf("frame %d = %q, want %q", i, got, w)
			}
		case <-time.After(awaitTimeout):
			s.t.Fatalf("frame %d: nothing written, want %q", i, w)
		}
	}
}
