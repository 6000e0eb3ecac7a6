package actors

import (
	"regexp"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// KindDocData is the cluster kind of documents' permanent data: one actor
// per (environment = instance id, document id) journals the document's
// users, threads, comments, suggestions and revisions (internal/state
// docdata*.go has the rules). An id of one document or environment never
// reaches another's actor: it answers NOT_FOUND there like any unknown id.
const KindDocData = "docdata"

// DocDataSystemError answers a change the journal refused.
const DocDataSystemError = "SYSTEM_ERROR"

// DocDataIdentity is the cluster identity of a document of an environment.
func DocDataIdentity(envID, documentID string) string { return envID + "/d/" + documentID }

// docIDPattern is the form of document and record ids: the service's ids
// are short strings of this alphabet.
var docIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// ValidDocID reports whether id can name a document or a record.
func ValidDocID(id string) bool { return docIDPattern.MatchString(id) }

// DocDataKind is the cluster kind of documents' permanent data.
func DocDataKind(d *Deps) *cluster.Kind {
	deps := d.withDefaults()
	return cluster.NewKind(KindDocData, actor.PropsFromProducer(func() actor.Actor { return newDocDataActor(deps) }))
}

func newDocDataActor(deps *Deps) *docDataActor {
	a := &docDataActor{}
	a.j = newJournaled(deps, KindDocData, a.sealedSnapshot)
	return a
}

// docDataActor serves one document's permanent data. It takes one change
// at a time: a change is decided on the state every earlier change made,
// so commands wait (in order, reads too, so that a read after an
// acknowledged write sees it) while one is being written.
type docDataActor struct {
	j        *journaled[*state.DocData]
	identity string
	waiting  []stashed
	// key seals what the actor journals (docdata_seal.go); gone: the
	// environment was deleted, and its data with its key.
	key  *EnvKey
	gone bool
	// hooking: webhook events are on their way to the outbox (or wait
	// to be tried again); hookWaiters are the changes answered after.
	hooking     bool
	hookWaiters []hookWaiter
	// viewers: the client actors that opened the document's records
	// (docdata_viewers.go).
	viewers map[string]*blockViewer
}

func (a *docDataActor) Receive(ctx actor.Context) {
	if a.j.receive(ctx) {
		a.next(ctx)
		return
	}
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		a.identity = m.Identity.Identity
		if !a.activate(ctx, m) {
			return
		}
		ctx.SetReceiveTimeout(a.j.deps.PassivateAfter)
	case *hooked:
		a.onHooked(ctx, m)
		a.next(ctx)
	case *docHookRetry:
		a.hooking = false
		a.flushHooks(ctx)
		a.next(ctx)
	case *opsyncpb.DocDataCommand:
		a.waiting = append(a.waiting, stashed{msg: m, sender: ctx.Sender()})
		a.next(ctx)
	case *opsyncpb.StateSubscribe:
		a.onSubscribe(ctx, m)
	case *opsyncpb.StateUnsubscribe:
		a.dropViewer(ctx, actor.NewPID(m.ClientAddress, m.ClientId))
	case *actor.Terminated:
		a.dropViewer(ctx, m.Who)
	case *actor.ReceiveTimeout:
		if a.j.idle() && len(a.waiting) == 0 && !a.hooking && len(a.viewers) == 0 {
			ctx.Stop(ctx.Self())
		}
	}
}

// next handles the waiting commands while no change is being written.
func (a *docDataActor) next(ctx actor.Context) {
	for len(a.waiting) > 0 && !a.j.busy() && !a.hooking {
		s := a.waiting[0]
		a.waiting = a.waiting[1:]
		if res := a.handle(ctx, s.sender, s.msg.(*opsyncpb.DocDataCommand)); res != nil {
			sendTo(ctx, s.sender, res)
		}
	}
}

// handle answers a read at once, and a change once it is durable (nil:
// the answer goes later).
func (a *docDataActor) handle(ctx actor.Context, sender *actor.PID, m *opsyncpb.DocDataCommand) *opsyncpb.DocDataAnswer {
	if a.gone {
		return &opsyncpb.DocDataAnswer{Code: state.DocNotFound, Detail: ErrEnvDeleted.Error()}
	}
	st := a.j.state
	switch m.Action {
	case opsyncpb.DocAction_DOC_ACTION_GET:
		r, ok := st.Get(m.Kind, m.Id, m.IncludeDeleted)
		if !ok {
			return &opsyncpb.DocDataAnswer{Code: state.DocNotFound, Detail: "no such record in document " + m.DocumentId}
		}
		return &opsyncpb.DocDataAnswer{Records: []*opsyncpb.DocRecord{r}}
	case opsyncpb.DocAction_DOC_ACTION_LIST:
		limit := int(m.Limit)
		if limit <= 0 {
			limit = 1000
		}
		recs, next, ref := st.List(m.Kind, m.ThreadId, m.IncludeDeleted, limit, m.Cursor)
		if ref != nil {
			return &opsyncpb.DocDataAnswer{Code: ref.Code, Detail: ref.Detail}
		}
		return &opsyncpb.DocDataAnswer{Records: recs, NextCursor: next}
	}
	now := a.j.deps.now().UnixMilli()
	before, _ := st.Get(m.Kind, m.Id, true)
	ev, ref := st.Decide(m, now)
	if ref != nil {
		return &opsyncpb.DocDataAnswer{Code: ref.Code, Detail: ref.Detail}
	}
	if ev.DocumentRemoved && st.Len() == 0 && st.LastSeq() == 0 {
		return &opsyncpb.DocDataAnswer{} // nothing to remove
	}
	if a.hooksOn() {
		rec := before // a removal for good: the record as it was
		if len(ev.Put) > 0 {
			rec = ev.Put[0]
		}
		ev.Hook = hookEvent(m, rec, now)
	}
	sealed, err := a.seal(ev)
	if err != nil {
		return &opsyncpb.DocDataAnswer{Code: DocDataSystemError, Detail: err.Error()}
	}
	a.j.persist(ctx, &pending{ev: &opsyncpb.Event{Time: now, Kind: sealed}, done: func(ctx actor.Context, seq uint64, err error) {
		if err != nil {
			sendTo(ctx, sender, &opsyncpb.DocDataAnswer{Code: DocDataSystemError, Detail: err.Error()})
			return
		}
		res := &opsyncpb.DocDataAnswer{}
		for _, r := range ev.Put {
			// As applied: with its creation order.
			if cur, ok := a.j.state.Get(state.KindOf(r), state.RecordID(r), true); ok {
				res.Records = append(res.Records, cur)
			}
		}
		metrics.DocChanges.Inc()
		a.publishChange(ctx, seq, res.Records, ev)
		if ev.Hook != nil {
			a.hookWaiters = append(a.hookWaiters, hookWaiter{seq: seq, sender: sender, res: res})
			a.flushHooks(ctx)
		} else {
			sendTo(ctx, sender, res)
		}
		if ev.DocumentRemoved {
			// Nothing of the document stays on disk.
			a.j.removeJournal(false)
		}
	}})
	a.j.flush()
	return nil
}
