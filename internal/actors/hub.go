package actors

import (
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// HubShards is the number of fan-out hub actors on every node. A source
// picks its shard by its identity, so all of one source's deliveries to a
// node pass one shard, in order, while different sources' deliveries are
// encoded on different cores. Every node of a set must use the same number.
const HubShards = 8

// hubName is the registered name of a hub shard on each node.
func hubName(shard int) string { return fmt.Sprintf("opsync-hub-%d", shard) }

// hubFor is the hub shard of a source on the node at address.
func hubFor(address, source string) *actor.PID {
	h := fnv.New32a()
	h.Write([]byte(source))
	return actor.NewPID(address, hubName(int(h.Sum32()%HubShards)))
}

// fanOut sends viewers (client actors of any node) one message per node,
// made by msg of that node's client ids, to the hub shard of source there,
// and answers the number of viewers.
func fanOut(ctx actor.Context, source string, viewers map[string]*blockViewer, msg func(ids []string) *opsyncpb.HubDeliveries) int {
	byNode := map[string][]string{}
	for _, v := range viewers {
		byNode[v.pid.Address] = append(byNode[v.pid.Address], v.pid.Id)
	}
	for addr, ids := range byNode {
		ctx.Send(hubFor(addr, source), msg(ids))
	}
	return len(viewers)
}

// StartHub spawns this node's fan-out hub: a per-node stage between the
// sources (streams, wherever they live) and the client actors of this
// node. A source sends one HubDeliveries per node with recipients; the hub
// encodes the client frame once and hands the same bytes to every
// recipient, so a global push to 10,000 clients costs one remote message
// per node and one encoding per node, not 10,000 of each.
func StartHub(system *actor.ActorSystem) error {
	for i := range HubShards {
		if _, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &hubActor{} }), hubName(i)); err != nil {
			return fmt.Errorf("hub shard %d: %w", i, err)
		}
	}
	return nil
}

// hubActor is one shard of a node's hub.
type hubActor struct{}

// hubDelivery is what the hub hands each local recipient: the entries (for
// its window and cursor) and the frame they make, encoded once for all.
// Both are shared between recipients: read-only.
type hubDelivery struct {
	stream  string // the source's identity
	entries []*opsyncpb.Entry
	state   *opsyncpb.StateUpdate  // a state source's version (entries empty)
	typed   *opsyncpb.TypedMessage // a state source's typed message (entries empty, state nil)
	frame   []byte                 // nil for a retry: each client resends only what it still misses
	retry   bool
}

func (h *hubActor) Receive(ctx actor.Context) {
	m, ok := ctx.Message().(*opsyncpb.HubDeliveries)
	if !ok || (len(m.Entries) == 0 && m.State == nil && m.TypedMessage == nil) || len(m.ClientIds) == 0 {
		return
	}
	d := &hubDelivery{stream: m.Stream, entries: m.Entries, state: m.State, typed: m.TypedMessage, retry: m.Retry}
	if !m.Retry {
		frame, err := proto.Marshal(hubFrame(m))
		if err == nil {
			d.frame = frame
			metrics.HubFramesEncoded.Inc()
		}
	}
	metrics.HubRecipients.Add(float64(len(m.ClientIds)))
	address, clients := ctx.Self().Address, clientsOf(ctx.ActorSystem())
	for _, id := range m.ClientIds {
		if c, ok := clients.Load(id); ok {
			c.(*clientActor).offer(d)
			continue
		}
		ctx.Send(actor.NewPID(address, id), d)
	}
}

// clients holds the client actors of each actor system (a node; tests run
// several in one process) by actor id, for the hub to offer deliveries to
// directly.
var clients sync.Map // *actor.ActorSystem -> *sync.Map (id -> *clientActor)

func clientsOf(system *actor.ActorSystem) *sync.Map {
	m, _ := clients.LoadOrStore(system, &sync.Map{})
	return m.(*sync.Map)
}

// hubFrame is the client frame of a hub delivery.
func hubFrame(m *opsyncpb.HubDeliveries) *opsyncpb.ServerFrame {
	if m.State != nil {
		return &opsyncpb.ServerFrame{Frame: &opsyncpb.ServerFrame_State{State: m.State}}
	}
	if m.TypedMessage != nil {
		return &opsyncpb.ServerFrame{Frame: &opsyncpb.ServerFrame_TypedMessage{TypedMessage: m.TypedMessage}}
	}
	return deliverFrame(m.Entries)
}

// deliverFrame is the client frame that delivers entries.
func deliverFrame(es []*opsyncpb.Entry) *opsyncpb.ServerFrame {
	msgs := make([]*opsyncpb.SyncMessage, len(es))
	for i, e := range es {
		msgs[i] = toSyncMessage(e)
	}
	return &opsyncpb.ServerFrame{Frame: &opsyncpb.ServerFrame_Deliver{Deliver: &opsyncpb.Deliver{Messages: msgs}}}
}
