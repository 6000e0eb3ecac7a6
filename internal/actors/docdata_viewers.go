package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/document"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A document's record viewers: the client actors that opened its records
// (Open kind "docrecords", StateSubscribe, as a block's viewers). Each
// durable change goes to them as a StateUpdate whose data is a
// DocumentDataEvent and whose version is the change's journal seq,
// through the hub shard of the document's identity on the viewer's node,
// so in journal order. A subscribe sends nothing of the past: the editor
// lists what it needs.

func init() {
	RegisterStateKind(StateKind{Name: document.RecordsStateKind, ClusterKind: KindDocData, Identity: DocDataIdentity, ValidID: document.ValidID,
		StreamSuffix: recordsStream})
}

// recordsStream tells a document's record changes from its session's
// versions, whose actor has the same identity (of another kind).
const recordsStream = "#records"

func (a *docDataActor) onSubscribe(ctx actor.Context, m *opsyncpb.StateSubscribe) {
	pid := actor.NewPID(m.ClientAddress, m.ClientId)
	k := viewerKey(pid)
	if a.viewers == nil {
		a.viewers = map[string]*blockViewer{}
	}
	if a.viewers[k] == nil {
		a.viewers[k] = &blockViewer{pid: pid}
		ctx.Watch(pid)
	}
	a.viewers[k].user = m.UserId
	respond(ctx, &opsyncpb.StateSubscribed{Source: a.identity})
}

func (a *docDataActor) dropViewer(ctx actor.Context, pid *actor.PID) {
	k := viewerKey(pid)
	if _, ok := a.viewers[k]; !ok {
		return
	}
	delete(a.viewers, k)
	ctx.Unwatch(pid)
}

// publishChange sends the change journaled at seq to the viewers: put
// are the records as applied.
func (a *docDataActor) publishChange(ctx actor.Context, seq uint64, put []*opsyncpb.DocRecord, ev *opsyncpb.DocDataEvent) {
	if len(a.viewers) == 0 {
		return
	}
	data, err := proto.Marshal(&opsyncpb.DocumentDataEvent{Put: put, Removed: ev.Removed, DocumentRemoved: ev.DocumentRemoved})
	if err != nil {
		a.j.log.Warn("document data change not encodable")
		return
	}
	_, doc, _ := cutDocIdentity(a.identity)
	up := &opsyncpb.StateUpdate{Kind: document.RecordsStateKind, Id: doc, Version: seq, Data: data}
	byNode := map[string][]string{}
	for _, v := range a.viewers {
		byNode[v.pid.Address] = append(byNode[v.pid.Address], v.pid.Id)
	}
	for addr, ids := range byNode {
		ctx.Send(hubFor(addr, a.identity), &opsyncpb.HubDeliveries{Stream: a.identity + recordsStream, ClientIds: ids, State: up})
	}
}
