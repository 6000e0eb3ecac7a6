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
// so in journal order. A subscribe sends nothing of the past (the editor
// lists what it needs) but a live mark: a StateUpdate without data whose
// version is the last change journaled, through the same shard, so that a
// client knows every change after it will reach it.

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
	a.sendState(ctx, &opsyncpb.StateUpdate{Kind: document.RecordsStateKind, Id: a.docID(), Version: a.j.state.LastSeq()}, map[string]*blockViewer{k: a.viewers[k]})
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
	a.sendState(ctx, &opsyncpb.StateUpdate{Kind: document.RecordsStateKind, Id: a.docID(), Version: seq, Data: data}, a.viewers)
}

// sendState sends up to viewers through the hub shard of the document on
// each viewer's node (fanOut), as the records' stream.
func (a *docDataActor) sendState(ctx actor.Context, up *opsyncpb.StateUpdate, viewers map[string]*blockViewer) {
	fanOut(ctx, a.identity, viewers, func(ids []string) *opsyncpb.HubDeliveries {
		return &opsyncpb.HubDeliveries{Stream: a.identity + recordsStream, ClientIds: ids, State: up}
	})
}

// docID is the document's id within its instance.
func (a *docDataActor) docID() string {
	_, doc, _ := cutDocIdentity(a.identity)
	return doc
}
