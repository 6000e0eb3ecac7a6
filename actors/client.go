package actors

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/opsync/opsync/events"
	"github.com/opsync/opsync/metrics"
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
	Sink     FrameSink
	// Window bounds the messages delivered and not yet acknowledged.
	Window int
	Logger *slog.Logger
}

// Client is the edge's handle on a client actor.
type Client struct {
	pid  *actor.PID
	root *actor.RootContext
}

// StartClient spawns the client actor of one connection on this node. It
// attaches to the user's and the device's streams, wherever in the cluster
// they live.
func StartClient(c *cluster.Cluster, p ClientParams) *Client {
	if p.Window <= 0 {
		p.Window = 512
	}
	if p.Logger == nil {
		p.Logger = (&Deps{}).withDefaults().Logger
	}
	root := c.ActorSystem.Root
	pid := root.Spawn(actor.PropsFromProducer(func() actor.Actor { return newClientActor(c, p) }))
	return &Client{pid: pid, root: root}
}

// Handle passes a frame the client sent (register, unregister, ack) to the
// actor.
func (h *Client) Handle(f *opsyncpb.ClientFrame) { h.root.Send(h.pid, f) }

// Stop detaches the actor from its streams and stops it; the edge calls it
// when the connection ends.
func (h *Client) Stop() { h.root.Stop(h.pid) }

// clientActor serves one connection: it merges the deliveries of the
// user's and the device's stream, keeps at most Window of them in flight,
// and turns the client's acks into sync points for the streams.
type clientActor struct {
	p        ClientParams
	cl       *cluster.Cluster
	links    []*streamLink
	cursor   map[string]uint64 // registered bizType -> highest oplog id queued
	bizLink  map[string]*streamLink
	queue    []*opsyncpb.Entry
	inflight *events.Inflight
}

type streamLink struct {
	identity string
	pid      *actor.PID
}

// resubscribe is the local message that retries attaching to a stream.
type resubscribe struct{ link *streamLink }

const resubscribeDelay = 200 * time.Millisecond

// maxFrameMessages bounds the messages of one Deliver frame.
const maxFrameMessages = 256

func newClientActor(c *cluster.Cluster, p ClientParams) *clientActor {
	a := &clientActor{p: p, cl: c, cursor: map[string]uint64{}, bizLink: map[string]*streamLink{}, inflight: events.NewInflight()}
	for biz, point := range p.BizTypes {
		a.cursor[biz] = point
	}
	a.links = []*streamLink{
		{identity: UserStream(p.InstanceID, p.UserID)},
		{identity: DeviceStream(p.InstanceID, p.DeviceID)},
	}
	return a
}

func (a *clientActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		for _, l := range a.links {
			a.subscribe(ctx, l, a.cursor)
		}
	case *opsyncpb.StreamDeliveries:
		a.onDeliveries(ctx, m)
	case *opsyncpb.ClientFrame:
		a.onFrame(ctx, m)
	case *actor.Terminated:
		for _, l := range a.links {
			if l.pid != nil && l.pid.Equal(m.Who) {
				// The stream stopped (its node died, or it failed): attach
				// again; the cluster activates it anew.
				l.pid = nil
				a.retryLater(ctx, l)
			}
		}
	case *resubscribe:
		if m.link.pid == nil {
			a.subscribe(ctx, m.link, a.cursor)
		}
	case *actor.Stopping:
		for _, l := range a.links {
			if l.pid != nil {
				ctx.Send(l.pid, &opsyncpb.Unsubscribe{ClientAddress: ctx.Self().Address, ClientId: ctx.Self().Id})
			}
		}
	}
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
	if l.pid == nil || !l.pid.Equal(pid) {
		l.pid = pid
		ctx.Watch(pid)
	}
	points := make(map[string]uint64, len(after))
	for b, p := range after {
		points[b] = p
	}
	ctx.Send(pid, &opsyncpb.Subscribe{
		ClientAddress: ctx.Self().Address, ClientId: ctx.Self().Id,
		DeviceId: a.p.DeviceID, After: points, OsType: a.p.OSType, AppVersion: a.p.AppVersion,
	})
}

func (a *clientActor) retryLater(ctx actor.Context, l *streamLink) {
	self := ctx.Self()
	root := ctx.ActorSystem().Root
	time.AfterFunc(resubscribeDelay, func() { root.Send(self, &resubscribe{link: l}) })
}

func (a *clientActor) onDeliveries(ctx actor.Context, m *opsyncpb.StreamDeliveries) {
	var link *streamLink
	for _, l := range a.links {
		if l.identity == m.Stream {
			link = l
		}
	}
	if link == nil {
		return
	}
	for _, e := range m.Entries {
		cur, registered := a.cursor[e.BizType]
		if !registered || e.OplogId <= cur {
			continue // unregistered meanwhile, or already queued
		}
		a.cursor[e.BizType] = e.OplogId
		a.bizLink[e.BizType] = link
		a.queue = append(a.queue, e)
	}
	a.pump(ctx)
}

// pump sends queued entries while the window has room.
func (a *clientActor) pump(ctx actor.Context) {
	for len(a.queue) > 0 && a.inflight.Len() < a.p.Window {
		n := min(len(a.queue), a.p.Window-a.inflight.Len(), maxFrameMessages)
		msgs := make([]*opsyncpb.SyncMessage, 0, n)
		for _, e := range a.queue[:n] {
			if a.inflight.Sent(e.BizType, e.OplogId) {
				msgs = append(msgs, toSyncMessage(e))
			}
		}
		a.queue = a.queue[n:]
		if len(msgs) == 0 {
			continue
		}
		metrics.Deliveries.Add(float64(len(msgs)))
		err := a.p.Sink.Send(&opsyncpb.ServerFrame{Frame: &opsyncpb.ServerFrame_Deliver{Deliver: &opsyncpb.Deliver{Messages: msgs}}})
		if err != nil {
			a.p.Logger.Debug("client connection gone", slog.String("device", a.p.DeviceID), slog.Any("err", err))
			ctx.Stop(ctx.Self())
			return
		}
	}
}

func (a *clientActor) onFrame(ctx actor.Context, f *opsyncpb.ClientFrame) {
	switch m := f.Frame.(type) {
	case *opsyncpb.ClientFrame_Ack:
		a.onAck(ctx, m.Ack)
	case *opsyncpb.ClientFrame_RegisterBiz:
		biz := m.RegisterBiz.BizType
		if _, ok := a.cursor[biz]; ok {
			return
		}
		a.cursor[biz] = m.RegisterBiz.SyncPoint
		for _, l := range a.links {
			a.subscribe(ctx, l, map[string]uint64{biz: m.RegisterBiz.SyncPoint})
		}
	case *opsyncpb.ClientFrame_UnregisterBiz:
		biz := m.UnregisterBiz.BizType
		delete(a.cursor, biz)
		// Delivered but unacknowledged entries go again if the bizType is
		// registered again.
		a.inflight.Forget(biz)
		kept := a.queue[:0]
		for _, e := range a.queue {
			if e.BizType != biz {
				kept = append(kept, e)
			}
		}
		a.queue = kept
		for _, l := range a.links {
			if l.pid != nil {
				ctx.Send(l.pid, &opsyncpb.Unsubscribe{ClientAddress: ctx.Self().Address, ClientId: ctx.Self().Id, BizTypes: []string{biz}})
			}
		}
	}
}

func (a *clientActor) onAck(ctx actor.Context, ack *opsyncpb.Ack) {
	metrics.Acks.Add(float64(len(ack.Received)))
	byLink := map[*streamLink]map[string]uint64{}
	for _, r := range ack.Received {
		point, advanced := a.inflight.Ack(r.BizType, r.OplogId)
		l := a.bizLink[r.BizType]
		if !advanced || l == nil {
			continue
		}
		if byLink[l] == nil {
			byLink[l] = map[string]uint64{}
		}
		byLink[l][r.BizType] = point
	}
	for l, points := range byLink {
		if l.pid != nil {
			ctx.Send(l.pid, &opsyncpb.AckSyncPoints{DeviceId: a.p.DeviceID, Points: points})
		}
	}
	a.pump(ctx)
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
