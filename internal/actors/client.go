package actors

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// ClientParams describe one client connection.
type ClientParams struct {
	InstanceID string
	UserID     string
	DeviceID   string
	SessionID  string
	OSType     string
	AppVersion string
	// BizTypes the client registered at connect, with its sync point each.
	BizTypes map[string]uint64
	// ConsistencyChecked: the instance's validation endpoint was asked
	// about this session; SessionValid is its answer. A checked, invalid
	// session receives nothing of the bizTypes with consistencyCheck on.
	ConsistencyChecked bool
	SessionValid       bool
	// UserID is empty for a device-only connection: it reads no user's
	// stream. DeviceStreamWithheld: it may not read its device's stream
	// either (see client_access.go); global streams it reads always.
	DeviceStreamWithheld bool
	Sink                 FrameSink
	// Window bounds the messages delivered and not yet acknowledged, and
	// WindowBytes their size (state.EntrySize); the streams the client
	// reads each get a share of both (client_window.go).
	Window      int
	WindowBytes int64
	// Meter is told how many bytes the connection holds (delivered and
	// not acknowledged, or queued for its window); nil: nobody asks.
	Meter  SendMeter
	Logger *slog.Logger
	// Clock drives the actor's timeouts; nil is the wall clock.
	Clock Clock

	// Connected is the frame the actor writes first, once the streams it
	// attaches to at start have answered (client_connected.go); its
	// server_time is set then. Nil: none (the actors' tests).
	Connected *opsyncpb.Connected
}

// Client is the edge's handle on a client actor.
type Client struct {
	pid   *actor.PID
	root  *actor.RootContext
	actor *clientActor
	ready <-chan struct{}
}

// Grains finds the cluster's virtual actors: *cluster.Cluster in a node, a
// map of locally spawned actors in the actors' own tests.
type Grains interface {
	// Get returns the PID of the activation of identity, activating it.
	Get(identity, kind string) *actor.PID
	// Request asks the activation of identity and waits for its answer.
	Request(identity, kind string, msg interface{}, opts ...cluster.GrainCallOption) (interface{}, error)
}

// StartClient spawns the client actor of one connection on this node. It
// attaches to the user's and the device's streams, and to the global
// streams of the global bizTypes it registers, wherever in the cluster
// they live.
func StartClient(system *actor.ActorSystem, c Grains, p ClientParams) *Client {
	if p.Window <= 0 {
		p.Window = DefaultWindow
	}
	if p.WindowBytes <= 0 {
		p.WindowBytes = DefaultWindowBytes
	}
	if p.Logger == nil {
		p.Logger = (&Deps{}).withDefaults().Logger
	}
	if p.Clock == nil {
		p.Clock = WallClock{}
	}
	root := system.Root
	ca := newClientActor(c, p)
	pid := root.Spawn(actor.PropsFromProducer(func() actor.Actor { return ca }))
	return &Client{pid: pid, root: root, actor: ca, ready: ca.ready}
}

// Ready is closed once the actor has written Connected (or stopped): the
// edge reads the client's frames from then on.
func (h *Client) Ready() <-chan struct{} { return h.ready }

// Handle passes a frame the client sent (register, unregister, ack) to the
// actor. Acks are taken on the caller's goroutine (the connection's
// reader) under the actor's lock: the hot path of every delivery skips a
// trip through the mailbox.
func (h *Client) Handle(f *opsyncpb.ClientFrame) {
	if ack := f.GetAck(); ack != nil && h.actor.ackDirect(ack) {
		return
	}
	h.root.Send(h.pid, f)
}

// Stop detaches the actor from its streams and stops it; the edge calls it
// when the connection ends.
func (h *Client) Stop() { h.root.Stop(h.pid) }

// clientActor serves one connection: it merges the deliveries of the
// streams it is attached to, keeps at most Window of them in flight, and
// turns the client's acks into sync points for the streams.
//
// Its state is guarded by mu: the actor's own messages hold it, and so do
// the two hot paths that reach it directly, without the mailbox — the
// node's hub offering a delivery (offer) and the connection's reader
// passing acks (ackDirect).
type clientActor struct {
	mu   sync.Mutex
	self *actor.PID
	root *actor.RootContext
	// mailboxed counts the deliveries the hub put in the mailbox and the
	// actor has not handled yet: while there are any, the hub's later
	// deliveries take the mailbox too, so none overtakes an earlier one.
	mailboxed atomic.Int32
	stopped   bool

	// Connected (client_connected.go): the frame, whether it was written,
	// what holds frames until then, and what tells the edge.
	connectedFrame *opsyncpb.Connected
	connected      bool
	gate           *connGate
	ready          chan struct{}

	p        ClientParams
	cl       Grains
	configs  map[string]*opsyncpb.BizTypeConfig
	links    map[string]*streamLink // by stream identity
	cursor   map[string]uint64      // registered bizType -> highest oplog id queued
	bizLink  map[string]*streamLink // bizType -> the stream its entries came from
	queue    []*opsyncpb.Entry
	queued   int64 // the size of queue's entries
	inflight *Inflight
	// What the connection's window is shared among (client_window.go):
	// the number of links the streams were last told their share for, and
	// the bytes last reported to the meter.
	sharedBy int
	metered  int64
	states   map[string]*stateLink // open state sources, by identity
	// global entries acknowledged, by the stream that counts them, sent
	// with the gathered acks (client_arrivals.go)
	arrivals map[string][]*opsyncpb.SyncPoint
	// arrivalsScheduled: a flushArrivals is on its way (client_arrivals.go)
	arrivalsScheduled bool
	// acks gathered for each stream, sent every ackDelay
	acks         map[*streamLink]*opsyncpb.AckSyncPoints
	ackScheduled bool

	// What the instance withholds (client_configs.go): bizTypes deleted
	// within their grace period, and final deletions' cutoffs; and the
	// version of the configs.
	deleted       map[string]bool
	purgedBefore  map[string]int64
	configVersion uint64
	// from is each registered bizType's sync point at registration: where
	// it resumes when nothing of it was acknowledged since.
	from map[string]uint64
}

// streamLink is the client's attachment to one stream.
type streamLink struct {
	identity    string
	global      bool // a bizType's global stream
	pid         *actor.PID
	backlogOnly bool // a global stream whose new entries wait for the next connect
	attempt     int  // subscriptions sent, to match a subscribeCheck to the latest
	confirmed   bool // the stream answered the latest subscription
}

// resubscribe is the local message that retries attaching to a stream.
type resubscribe struct{ link *streamLink }

// subscribeCheck looks, subscribeTimeout after a subscription was sent,
// whether the stream answered it. In a node set a subscription can go to
// an activation on a node that has just died, before the membership says
// so: no answer comes, and watching that address may never report the
// death either. Without the check the client would wait for live entries
// from a dead actor until it reconnected.
type subscribeCheck struct {
	link    *streamLink
	attempt int
}

const (
	resubscribeDelay = 200 * time.Millisecond
	subscribeTimeout = 5 * time.Second
	configTimeout    = 5 * time.Second
)

// maxFrameMessages bounds the messages of one Deliver frame.
const maxFrameMessages = 256

func newClientActor(c Grains, p ClientParams) *clientActor {
	a := &clientActor{p: p, cl: c, links: map[string]*streamLink{}, cursor: map[string]uint64{}, from: map[string]uint64{}, bizLink: map[string]*streamLink{}, inflight: NewInflight(), acks: map[*streamLink]*opsyncpb.AckSyncPoints{}, states: map[string]*stateLink{}}
	for biz, point := range p.BizTypes {
		a.cursor[biz], a.from[biz] = point, point
	}
	// Every frame goes through the gate, which holds them until Connected.
	a.gate, a.connectedFrame, a.ready = &connGate{sink: p.Sink}, p.Connected, make(chan struct{})
	a.p.Sink, a.p.Connected = a.gate, nil
	return a
}

func (a *clientActor) Receive(ctx actor.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.self, a.root = ctx.Self(), ctx.ActorSystem().Root
		a.awaitSubscribed(ctx)
		// Without the configs, every bizType is taken as a specified one
		// that may be delivered.
		a.configs = map[string]*opsyncpb.BizTypeConfig{}
		if list := a.readConfigs(); list != nil {
			a.setConfigs(list)
		}
		a.attach(ctx, a.cursor)
		a.onSubscribedAll() // at once when it attached to nothing
		clientsOf(ctx.ActorSystem()).Store(a.self.Id, a)
		a.scheduleLinkCheck(ctx)
	case *checkLinks:
		a.onCheckLinks(ctx)
	case *linkSilent:
		a.onLinkSilent(ctx, m)
	case *hubDelivery:
		a.onHubDelivery(m)
	case *mailboxDelivery:
		a.mailboxed.Add(-1)
		a.onHubDelivery(m.d)
	case *opsyncpb.ClientFrame:
		a.onFrame(ctx, m)
	case *configsChanged:
		a.onConfigs(ctx, m.list)
	case *actor.Terminated:
		for _, l := range a.links {
			if l.pid != nil && l.pid.Equal(m.Who) {
				// The stream stopped (its node died, or it failed): attach
				// again; the cluster activates it anew.
				l.pid = nil
				a.retryLater(ctx, l)
			}
		}
		a.stateTerminated(ctx, m.Who)
	case *resubscribeState:
		if m.link.pid == nil && a.states[m.link.stream()] == m.link {
			a.subscribeState(ctx, m.link)
		}
	case *resubscribe:
		if m.link.pid == nil {
			a.subscribe(ctx, m.link, a.bizOf(m.link))
		}
	case *opsyncpb.Subscribed:
		if l := a.links[m.Stream]; l != nil {
			l.confirmed = true
		}
		a.onSubscribedAll()
	case *connectedDue:
		a.onConnectedDue()
	case *subscribeCheck:
		if l := m.link; m.attempt == l.attempt && !l.confirmed && l.pid != nil {
			a.p.Logger.Debug("client: stream did not answer the subscription, attaching again", slog.String("stream", l.identity), slog.String("pid", l.pid.String()))
			a.reattach(ctx, l)
		}
	case *flushAcks:
		a.sendAcks()
	case *flushArrivals:
		a.sendArrivals()
	case *actor.Stopping:
		a.stopped = true
		if !a.connected {
			a.connected = true // no Connected now
			close(a.ready)
		}
		clientsOf(ctx.ActorSystem()).Delete(a.self.Id)
		a.sendAcks()
		a.sendArrivals()
		a.unmeter()
		for _, l := range a.states {
			if l.pid != nil {
				ctx.Send(l.pid, &opsyncpb.StateUnsubscribe{ClientAddress: ctx.Self().Address, ClientId: ctx.Self().Id})
			}
		}
		for _, l := range a.links {
			if l.pid != nil {
				ctx.Send(l.pid, &opsyncpb.Unsubscribe{ClientAddress: ctx.Self().Address, ClientId: ctx.Self().Id})
			}
		}
	}
}

// readConfigs asks the instance for its bizType configs: which bizTypes
// are global, which need a validated session, which are withheld. Nil
// when it does not answer.
func (a *clientActor) readConfigs() *opsyncpb.BizTypeList {
	res, err := a.cl.Request(a.p.InstanceID, KindInstance, &opsyncpb.ListBizTypes{}, cluster.WithTimeout(configTimeout))
	list, ok := res.(*opsyncpb.BizTypeList)
	if err != nil || !ok {
		a.p.Logger.Warn("client: configs unavailable", slog.String("instance", a.p.InstanceID), slog.Any("err", err))
		return nil
	}
	return list
}

// linkFor returns the stream a bizType's entries come from for this
// client (from the user's stream if user, else from the device's), or nil
// when the client may not receive them from there.
func (a *clientActor) linkFor(biz string, user bool) *streamLink {
	if !a.receives(biz) {
		return nil
	}
	cfg := a.configs[biz]
	var id string
	switch {
	case cfg != nil && cfg.Scope == opsyncpb.Scope_SCOPE_GLOBAL:
		id = GlobalStream(a.p.InstanceID, biz)
	case cfg != nil && user != (cfg.Target == opsyncpb.Target_TARGET_USER):
		// A configured bizType has entries only in its target's stream
		// (a target is never changed: see fidelity), so the other stream
		// is not attached: one stream actor less per client, and the
		// window is not shared with it.
		return nil
	case user && a.p.UserID != "":
		id = UserStream(a.p.InstanceID, a.p.UserID)
	case !user && !a.p.DeviceStreamWithheld:
		id = DeviceStream(a.p.InstanceID, a.p.DeviceID)
	default:
		return nil
	}
	l := a.links[id]
	if l == nil {
		l = &streamLink{identity: id, global: IsGlobalStream(id), backlogOnly: cfg != nil && cfg.Scope == opsyncpb.Scope_SCOPE_GLOBAL && !cfg.PushToOnline}
		a.links[id] = l
	}
	return l
}

// attach subscribes the bizTypes in after (with their sync points) to the
// streams they come from: a specified-scope bizType to both the user's and
// the device's stream (its config's target decides which one has entries),
// a global one to its global stream.
func (a *clientActor) attach(ctx actor.Context, after map[string]uint64) {
	per := map[*streamLink]map[string]uint64{}
	for biz, point := range after {
		for _, user := range []bool{true, false} {
			l := a.linkFor(biz, user)
			if l == nil {
				continue
			}
			if per[l] == nil {
				per[l] = map[string]uint64{}
			}
			per[l][biz] = point
		}
	}
	for l, points := range per {
		a.subscribe(ctx, l, points)
	}
}

// bizOf returns the registered bizTypes a link serves, with their cursors.
func (a *clientActor) bizOf(l *streamLink) map[string]uint64 {
	out := map[string]uint64{}
	for biz, cur := range a.cursor {
		if a.linkFor(biz, true) == l || a.linkFor(biz, false) == l {
			out[biz] = cur
		}
	}
	return out
}

func (a *clientActor) subscribe(ctx actor.Context, l *streamLink, after map[string]uint64) {
	if len(after) == 0 {
		return
	}
	pid := a.cl.Get(l.identity, KindStream)
	if pid == nil {
		a.retryLater(ctx, l)
		return
	}
	if !l.backlogOnly && (l.pid == nil || !l.pid.Equal(pid)) {
		ctx.Watch(pid)
	}
	l.pid = pid
	points := make(map[string]uint64, len(after))
	for b, p := range after {
		points[b] = p
	}
	l.attempt++
	l.confirmed = false
	msgs, bytes := a.share()
	ctx.Request(pid, &opsyncpb.Subscribe{
		ClientAddress: ctx.Self().Address, ClientId: ctx.Self().Id, DeviceId: a.p.DeviceID, After: points,
		OsType: a.p.OSType, AppVersion: a.p.AppVersion, BacklogOnly: l.backlogOnly, PurgedBefore: a.purgesFor(points),
		Window: msgs, WindowBytes: bytes,
	})
	a.reshare(ctx, l)
	self, root, check := ctx.Self(), ctx.ActorSystem().Root, &subscribeCheck{link: l, attempt: l.attempt}
	a.p.Clock.AfterFunc(subscribeTimeout, func() { root.Send(self, check) })
}

// reattach subscribes a link again, to the activation the cluster routes
// to now, from the client's cursors.
func (a *clientActor) reattach(ctx actor.Context, l *streamLink) {
	l.pid = nil
	a.subscribe(ctx, l, a.bizOf(l))
}

func (a *clientActor) retryLater(ctx actor.Context, l *streamLink) {
	self := ctx.Self()
	root := ctx.ActorSystem().Root
	a.p.Clock.AfterFunc(resubscribeDelay, func() { root.Send(self, &resubscribe{link: l}) })
}

// mailboxDelivery is a hub delivery the hub put in the mailbox (counted in
// mailboxed).
type mailboxDelivery struct{ d *hubDelivery }

// offer is how the node's hub hands a delivery over: written at once when
// the client can take the shared frame as it is, else through the
// mailbox. It never waits for the actor (a hub shard serves many).
func (a *clientActor) offer(d *hubDelivery) {
	if a.mailboxed.Load() == 0 && !d.retry && a.mu.TryLock() {
		done := a.stopped || (a.mailboxed.Load() == 0 && a.takeAtOnce(d))
		a.mu.Unlock()
		if done {
			return
		}
	}
	a.mailboxed.Add(1)
	a.root.Send(a.self, &mailboxDelivery{d})
}

// takeAtOnce handles a delivery the hub offers when that needs no queue:
// a state version, or entries the shared frame carries as they are.
func (a *clientActor) takeAtOnce(d *hubDelivery) bool {
	if d.state != nil || d.typed != nil {
		a.onState(d)
		return true
	}
	return a.sendShared(a.links[d.stream], d)
}

func (a *clientActor) onHubDelivery(m *hubDelivery) {
	if m.state != nil || m.typed != nil {
		a.onState(m)
		return
	}
	if m.retry {
		a.onRetry(m.entries)
		return
	}
	a.onDeliveries(m)
}

func (a *clientActor) onDeliveries(m *hubDelivery) {
	link := a.links[m.stream]
	if link == nil {
		return
	}
	if a.sendShared(link, m) {
		return
	}
	for _, e := range m.entries {
		cur, registered := a.cursor[e.BizType]
		if !registered || e.OplogId <= cur || !a.receives(e.BizType) {
			continue // unregistered or withheld meanwhile, or already queued
		}
		a.cursor[e.BizType] = e.OplogId
		a.bizLink[e.BizType] = link
		a.queue = append(a.queue, e)
		a.queued += int64(state.EntrySize(e))
	}
	a.pump()
}

// sendShared writes the hub's frame as it is, when every entry in it is
// new to this client and the window has room for all: the common case of a
// live delivery. It reports false (nothing done) otherwise; the entries
// then take the queue.
func (a *clientActor) sendShared(link *streamLink, m *hubDelivery) bool {
	if link == nil || m.frame == nil || len(a.queue) > 0 || !a.fits(m.entries) {
		return false
	}
	for i, e := range m.entries {
		cur, registered := a.cursor[e.BizType]
		if !registered || e.OplogId <= cur || (i > 0 && m.entries[i-1].OplogId >= e.OplogId) || !a.receives(e.BizType) {
			return false
		}
	}
	for _, e := range m.entries {
		a.cursor[e.BizType] = e.OplogId
		a.bizLink[e.BizType] = link
		a.inflight.Sent(e.BizType, e.OplogId, state.EntrySize(e))
	}
	a.meter()
	if err := a.p.Sink.SendEncoded(m.frame, true); err != nil {
		a.gone(err)
		return true
	}
	metrics.Deliveries.Add(float64(len(m.entries)))
	return true
}

// onRetry sends again the entries that are still unacknowledged here;
// others are acknowledged meanwhile or still queued.
func (a *clientActor) onRetry(es []*opsyncpb.Entry) {
	var msgs []*opsyncpb.SyncMessage
	for _, e := range es {
		if a.inflight.Pending(e.BizType, e.OplogId) {
			msgs = append(msgs, toSyncMessage(e))
		}
	}
	a.send(msgs)
}

// pump sends queued entries while the window has room.
func (a *clientActor) pump() {
	for len(a.queue) > 0 && a.fits(a.queue[:1]) {
		n := 0
		msgs := make([]*opsyncpb.SyncMessage, 0, min(len(a.queue), maxFrameMessages))
		for n < len(a.queue) && n < maxFrameMessages && a.fits(a.queue[n:n+1]) {
			e := a.queue[n]
			size := state.EntrySize(e)
			a.queued -= int64(size)
			if a.inflight.Sent(e.BizType, e.OplogId, size) {
				msgs = append(msgs, toSyncMessage(e))
			}
			n++
		}
		clear(a.queue[:n])
		a.queue = a.queue[n:]
		if !a.send(msgs) {
			return
		}
	}
	a.meter()
}

// gone stops the actor of a connection that is gone.
func (a *clientActor) gone(err error) {
	if a.stopped {
		return
	}
	a.p.Logger.Debug("client connection gone", slog.String("device", a.p.DeviceID), slog.Any("err", err))
	a.stopped = true
	a.root.Stop(a.self)
}

// send writes one Deliver frame; false when the connection is gone.
func (a *clientActor) send(msgs []*opsyncpb.SyncMessage) bool {
	if len(msgs) == 0 {
		return true
	}
	err := a.p.Sink.Send(&opsyncpb.ServerFrame{Frame: &opsyncpb.ServerFrame_Deliver{Deliver: &opsyncpb.Deliver{Messages: msgs}}})
	if err != nil {
		a.gone(err)
		return false
	}
	metrics.Deliveries.Add(float64(len(msgs)))
	return true
}

func (a *clientActor) onFrame(ctx actor.Context, f *opsyncpb.ClientFrame) {
	switch m := f.Frame.(type) {
	case *opsyncpb.ClientFrame_Ack:
		a.onAck(m.Ack)
	case *opsyncpb.ClientFrame_Open:
		a.onOpen(ctx, m.Open)
	case *opsyncpb.ClientFrame_Close:
		a.onClose(ctx, m.Close)
	case *opsyncpb.ClientFrame_RegisterBiz:
		biz := m.RegisterBiz.BizType
		if _, ok := a.cursor[biz]; ok {
			return
		}
		if _, known := a.configs[biz]; !known {
			// A bizType configured after this client connected: what else
			// changed applies too.
			if list := a.readConfigs(); list != nil {
				a.onConfigs(ctx, list)
			}
		}
		a.cursor[biz], a.from[biz] = m.RegisterBiz.SyncPoint, m.RegisterBiz.SyncPoint
		a.attach(ctx, map[string]uint64{biz: m.RegisterBiz.SyncPoint})
	case *opsyncpb.ClientFrame_UnregisterBiz:
		biz := m.UnregisterBiz.BizType
		delete(a.cursor, biz)
		delete(a.from, biz)
		// Delivered but unacknowledged entries go again if the bizType is
		// registered again.
		a.withhold(ctx, biz)
		// The bizType's entries no longer hold the window: what is queued
		// of others goes now.
		a.pump()
	}
}

// ackDelay is how long a client actor gathers the acks of a global
// stream's entries before it reports them: one report then, not one per
// ack frame (a global stream hears from every client). The window is freed
// at once; the stream stops its redeliveries up to ackDelay later.
const ackDelay = 20 * time.Millisecond

// flushAcks is the local message that sends the gathered acks.
type flushAcks struct{}

// onAck records the client's acks: a sync point that moved goes to the
// stream as such, an ack above it (out of order) as an individual one, so
// that the stream stops redelivering it.
// ackDirect takes acks on the connection reader's goroutine; false when
// the actor is not started yet, or deliveries wait in its mailbox (the
// acks then take the mailbox too, behind them).
func (a *clientActor) ackDirect(ack *opsyncpb.Ack) bool {
	if a.mailboxed.Load() > 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.self == nil {
		return false
	}
	if !a.stopped {
		a.onAck(ack)
	}
	return true
}

func (a *clientActor) onAck(ack *opsyncpb.Ack) {
	metrics.Acks.Add(float64(len(ack.Received)))
	for _, rcv := range ack.Received {
		if !a.inflight.Pending(rcv.BizType, rcv.OplogId) {
			continue
		}
		point, advanced := a.inflight.Ack(rcv.BizType, rcv.OplogId)
		l := a.bizLink[rcv.BizType]
		if l == nil || l.pid == nil {
			continue
		}
		r := a.acks[l]
		if r == nil {
			r = &opsyncpb.AckSyncPoints{DeviceId: a.p.DeviceID, Points: map[string]uint64{},
				ClientAddress: a.self.Address, ClientId: a.self.Id}
			a.acks[l] = r
		}
		if advanced {
			r.Points[rcv.BizType] = max(r.Points[rcv.BizType], point)
		} else {
			r.Acked = append(r.Acked, rcv)
		}
		if l.global {
			a.globalArrived(rcv)
		}
	}
	// A user's or device's stream hears at once: its sync points decide
	// what a reinstall or another device gets (a single-device entry, once
	// acknowledged, goes to no device again), and it coalesces the acks
	// that come while it writes anyway. A global stream, which hears from
	// every client and stores no sync point, gets them gathered.
	for l, r := range a.acks {
		if !l.global {
			a.root.Send(l.pid, r)
			delete(a.acks, l)
		}
	}
	if len(a.acks) > 0 && !a.ackScheduled {
		a.ackScheduled = true
		self, root := a.self, a.root
		a.p.Clock.AfterFunc(ackDelay, func() { root.Send(self, &flushAcks{}) })
	}
	a.pump()
}

// sendAcks reports the gathered acks to their streams.
func (a *clientActor) sendAcks() {
	a.ackScheduled = false
	for l, r := range a.acks {
		if l.pid != nil {
			a.root.Send(l.pid, r)
		}
	}
	clear(a.acks)
}

func toSyncMessage(e *opsyncpb.Entry) *opsyncpb.SyncMessage {
	return &opsyncpb.SyncMessage{
		BizType:       e.BizType,
		OplogId:       e.OplogId,
		ThirdMsgId:    e.ThirdMsgId,
		Payload:       e.Payload,
		BinaryPayload: e.BinaryPayload,
		IsBinary:      len(e.BinaryPayload) > 0,
		PushTime:      e.PushTime,
	}
}
