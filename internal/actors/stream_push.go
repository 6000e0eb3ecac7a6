package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/resultcode"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// pushWait is whoever waits for an entry being written: its pusher, and
// the repeats of the same push that arrived meanwhile.
type pushWait struct {
	reply waiter
	dups  []waiter
}

func (a *streamActor) onPush(ctx actor.Context, entry *opsyncpb.Entry, w waiter) {
	if a.j.failed || entry == nil {
		w.done(ctx, &opsyncpb.PushResult{Code: resultcode.SystemError})
		return
	}
	e := proto.Clone(entry).(*opsyncpb.Entry)
	key := entryKey{e.BizType, e.ThirdMsgId}
	now := a.deps.now().UnixMilli()
	if id, dup := a.state.Duplicate(key.biz, key.msg, now); dup {
		w.done(ctx, &opsyncpb.PushResult{Code: resultcode.DuplicatedBizID, OplogId: id})
		return
	}
	if pw, ok := a.byKey[key]; ok {
		// The first push is not durable yet: answer the repeat with its fate.
		pw.dups = append(pw.dups, w)
		return
	}
	if a.deps.Space != nil {
		// The node's disk is low: storing more could fill it. A repeat
		// of a stored push was answered above, as it stores nothing.
		if err := a.deps.Space.AdmitGrowth(); err != nil {
			w.done(ctx, &opsyncpb.PushResult{Code: resultcode.SystemError})
			return
		}
	}
	e.PushTime = now
	pw := &pushWait{reply: w}
	a.byKey[key] = pw
	a.j.persist(ctx, &pending{
		ev:    &opsyncpb.Event{Time: now, Kind: &opsyncpb.Event_EntryAppended{EntryAppended: e}},
		stamp: func(seq uint64) { e.OplogId = seq }, // the oplog id is the journal's sequence number
		done: func(ctx actor.Context, seq uint64, err error) {
			delete(a.byKey, key)
			res, dup := &opsyncpb.PushResult{Code: resultcode.Success, OplogId: seq}, &opsyncpb.PushResult{Code: resultcode.DuplicatedBizID, OplogId: seq}
			if err != nil {
				res, dup = &opsyncpb.PushResult{Code: resultcode.SystemError}, &opsyncpb.PushResult{Code: resultcode.SystemError}
			}
			pw.reply.done(ctx, res)
			for _, d := range pw.dups {
				d.done(ctx, dup)
			}
		},
	})
}

// onTransient delivers a non-persistent entry to the clients attached now
// and stores nothing but the count of it (a push, delivered or not). Its id
// comes from a clock-based counter, so that it still rises for the clients
// across activations.
func (a *streamActor) onTransient(ctx actor.Context, e *opsyncpb.Entry) {
	if a.j.failed || e == nil {
		respond(ctx, &opsyncpb.PushResult{Code: resultcode.SystemError})
		return
	}
	now := a.deps.now()
	a.transit = max(a.transit+1, uint64(now.UnixMicro()))
	e = proto.Clone(e).(*opsyncpb.Entry)
	e.OplogId, e.PushTime = a.transit, now.UnixMilli()
	var ds []delivery
	for _, s := range a.recipients(e) {
		if Deliverable(e, s.osType, s.appVersion, now.UnixMilli()) {
			ds = append(ds, delivery{s, []*opsyncpb.Entry{e}})
		}
	}
	a.send(ctx, ds, false)
	a.countStats(ctx, 1, 0, nil)
	if len(ds) == 0 {
		respond(ctx, &opsyncpb.PushResult{Code: resultcode.NotOnline})
		return
	}
	a.sentTransient(e)
	respond(ctx, &opsyncpb.PushResult{Code: resultcode.Success, OplogId: e.OplogId})
}
