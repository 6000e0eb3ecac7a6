package actors

import (
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/opsync/opsync/internal/document"
	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// KindDocSession is the cluster kind of document sessions.
const KindDocSession = "docsession"

// DocumentIdentity is the cluster identity of a document of an
// environment (an instance).
func DocumentIdentity(instanceID, documentID string) string { return instanceID + "/d/" + documentID }

func init() {
	RegisterStateKind(StateKind{Name: document.StateKind, ClusterKind: KindDocSession, Identity: DocumentIdentity, ValidID: document.ValidID, EndsLink: true})
}

// DocSessionKind is the cluster kind of document sessions.
func DocSessionKind(d *Deps) *cluster.Kind {
	deps := d.withDefaults()
	return cluster.NewKind(KindDocSession, actor.PropsFromProducer(func() actor.Actor { return newDocSessionActor(deps) }))
}

func newDocSessionActor(deps *Deps) *docSessionActor {
	a := &docSessionActor{}
	a.j = newJournaled(deps, KindDocSession, a.sealedSnapshot)
	return a
}

// docSessionActor is the collaboration session of one document: it
// orders the editors' operations (one version each, accepted only at the
// current version, so that every editor applies the same sequence),
// journals them, and sends each accepted batch to every editor through the
// hub of the editor's node, in version order. Its data is temporary: the
// TTL after the last editor left, it removes its journal.
type docSessionActor struct {
	j        *journaled[*state.DocSession]
	identity string
	editors  map[string]*blockViewer // by client actor address + "/" + id
	// latest is the version of the last accepted operation, journaled or
	// queued to be; queued holds those not yet applied to the state, so
	// that an editor told to rebase gets them too.
	latest uint64
	queued []*opsyncpb.DocOp
	// leftAt is when the last editor left (zero while one is connected, or
	// before any came in this activation); stopTimer cancels the sweep it
	// scheduled.
	leftAt    time.Time
	stopTimer func() bool
	// key seals what the session journals (docsession_seal.go); gone: the
	// environment was deleted, and its data with its key.
	key  *EnvKey
	gone bool
	// hooking: webhook events are on their way to the outbox;
	// hookWaiters run once it has theirs (docsession_hooks.go).
	hooking     bool
	hookWaiters []sessionHookWaiter
	// announced is the version collaboration.document.updated last
	// announced, at lastUpdated; updateTimer stops the coalescing timer.
	announced   uint64
	lastUpdated time.Time
	updateTimer func() bool
	// removing: the session is being removed; held are the requests that
	// wait for it (docsession_end.go).
	removing bool
	held     []held
}

// sessionExpiry is the local message of the TTL timer.
type sessionExpiry struct{}

func (a *docSessionActor) Receive(ctx actor.Context) {
	if a.j.receive(ctx) {
		return
	}
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		a.identity = m.Identity.Identity
		a.editors = map[string]*blockViewer{}
		if !a.activate(ctx, m) {
			return
		}
		a.latest = a.j.state.Version()
		a.announced = a.latest
		ctx.SetReceiveTimeout(a.j.deps.PassivateAfter)
		// Hooks a crash left before the outbox had them go now, and
		// the users it left connected are announced gone.
		a.flushHooks(ctx)
		a.announceCrashed(ctx)
	case *opsyncpb.SubmitDocumentOps:
		if !a.holdWhileRemoving(ctx) {
			a.onOps(ctx, m)
		}
	case *opsyncpb.SubmitDocumentSnapshot:
		if !a.holdWhileRemoving(ctx) {
			a.onSnapshot(ctx, m)
		}
	case *opsyncpb.GetDocumentSession:
		respond(ctx, a.info())
	case *opsyncpb.GetDocumentCollaboration:
		respond(ctx, a.collaboration())
	case *opsyncpb.EndDocumentSession:
		if !a.holdWhileRemoving(ctx) {
			a.onEnd(ctx, m)
		}
	case *opsyncpb.SweepDocumentSession:
		if !a.holdWhileRemoving(ctx) {
			a.sweep(ctx)
			respond(ctx, a.info())
		}
	case *sessionExpiry:
		a.stopTimer = nil
		if !a.removing {
			a.sweep(ctx)
		}
	case *hooked:
		a.onHooked(ctx, m)
	case *docHookRetry:
		a.hooking = false
		a.flushHooks(ctx)
	case *docUpdateDue:
		a.updateTimer = nil
		a.announceUpdated(ctx)
	case *opsyncpb.StateSubscribe:
		if !a.holdWhileRemoving(ctx) {
			a.onSubscribe(ctx, m)
		}
	case *opsyncpb.StateUnsubscribe:
		a.dropEditor(ctx, actor.NewPID(m.ClientAddress, m.ClientId))
	case *actor.Terminated:
		a.dropEditor(ctx, m.Who)
	case *actor.ReceiveTimeout:
		if len(a.editors) == 0 && a.j.idle() && !a.hooking && !a.removing && a.updateTimer == nil {
			ctx.Stop(ctx.Self())
		}
	case *actor.Stopping:
		if a.stopTimer != nil {
			a.stopTimer()
		}
		if a.updateTimer != nil {
			a.updateTimer()
		}
		metrics.DocEditors.Sub(float64(len(a.editors)))
		a.editors = nil
	}
}

func (a *docSessionActor) onOps(ctx actor.Context, m *opsyncpb.SubmitDocumentOps) {
	if a.gone {
		respond(ctx, goneAnswer())
		return
	}
	if code, err := document.CheckOps(m.Ops); err != nil {
		respond(ctx, &opsyncpb.DocumentAnswer{Code: code, Detail: err.Error(), Version: a.latest})
		return
	}
	switch {
	case m.BaseVersion > a.latest:
		respond(ctx, &opsyncpb.DocumentAnswer{Code: document.CodeInvalid, Version: a.latest,
			Detail: "base_version is ahead of the document's version"})
		return
	case m.BaseVersion < a.latest:
		missed, ok := a.since(m.BaseVersion)
		if !ok {
			respond(ctx, &opsyncpb.DocumentAnswer{Code: document.CodeResync, Version: a.latest,
				Detail: "the operations after base_version were replaced by a snapshot: open the document again"})
			return
		}
		metrics.DocOpBatches.WithLabelValues("rebase").Inc()
		respond(ctx, &opsyncpb.DocumentAnswer{Code: document.CodeRebase, Version: a.latest, Ops: missed,
			Detail: "base_version is not the current version: apply the missed operations, rebase yours on them and send them again"})
		return
	}
	if n, b := a.j.state.Ops(); n+len(a.queued)+len(m.Ops) > document.MaxSessionOps || b > document.MaxSessionBytes {
		respond(ctx, &opsyncpb.DocumentAnswer{Code: document.CodeTooLarge, Version: a.latest,
			Detail: "the session holds too many operations since its last snapshot: an editor must send a snapshot first"})
		return
	}
	first := a.latest + 1
	ev, err := a.sealEvent(a.j.deps.now().UnixMilli(), &opsyncpb.DocSessionEvent{Ops: &opsyncpb.DocOpsAccepted{FirstVersion: first, Ops: m.Ops, UserId: m.UserId}})
	if err != nil {
		respond(ctx, &opsyncpb.DocumentAnswer{Code: document.CodeSystemError, Detail: err.Error(), Version: a.latest})
		return
	}
	batch := make([]*opsyncpb.DocOp, len(m.Ops))
	for i, op := range m.Ops {
		batch[i] = &opsyncpb.DocOp{Version: first + uint64(i), Data: op, UserId: m.UserId}
	}
	a.latest += uint64(len(m.Ops))
	a.queued = append(a.queued, batch...)
	sender := ctx.Sender()
	a.j.persist(ctx, &pending{ev: ev, done: func(ctx actor.Context, _ uint64, err error) {
		a.queued = a.queued[len(batch):]
		if err != nil {
			// The actor fails and recovers from its journal; the editor
			// sends again at the version it then sees.
			sendTo(ctx, sender, &opsyncpb.DocumentAnswer{Code: document.CodeSystemError, Detail: err.Error()})
			return
		}
		metrics.DocOpBatches.WithLabelValues("accepted").Inc()
		last := batch[len(batch)-1].Version
		sendTo(ctx, sender, &opsyncpb.DocumentAnswer{Version: last})
		a.publish(ctx, last, &opsyncpb.DocumentUpdate{Ops: batch}, a.editors)
		a.versionAdvanced(ctx)
	}})
	a.j.flush()
}

// since is the operations after base: journaled, then queued.
func (a *docSessionActor) since(base uint64) ([]*opsyncpb.DocOp, bool) {
	ops, ok := a.j.state.Since(base)
	if !ok {
		return nil, false
	}
	out := append([]*opsyncpb.DocOp(nil), ops...)
	for _, op := range a.queued {
		if op.Version > base {
			out = append(out, op)
		}
	}
	return out, true
}

func (a *docSessionActor) onSnapshot(ctx actor.Context, m *opsyncpb.SubmitDocumentSnapshot) {
	s := m.Snapshot
	switch {
	case a.gone:
		respond(ctx, goneAnswer())
		return
	case len(s.GetData()) > document.MaxSnapshotBytes:
		respond(ctx, &opsyncpb.DocumentAnswer{Code: document.CodeTooLarge, Version: a.latest, Detail: "snapshot over its size limit"})
		return
	case s.GetVersion() > a.j.state.Version() || s.GetVersion() == 0:
		respond(ctx, &opsyncpb.DocumentAnswer{Code: document.CodeInvalid, Version: a.latest,
			Detail: "a snapshot's version must be a version the session has accepted"})
		return
	case a.j.state.Snapshot() != nil && s.Version <= a.j.state.Snapshot().Version:
		respond(ctx, &opsyncpb.DocumentAnswer{Version: a.j.state.Snapshot().Version, Detail: "the session has a snapshot at this version or newer"})
		return
	}
	sender := ctx.Sender()
	ev, err := a.sealEvent(a.j.deps.now().UnixMilli(), &opsyncpb.DocSessionEvent{Snapshot: &opsyncpb.DocSnapshotSaved{Snapshot: s}})
	if err != nil {
		respond(ctx, &opsyncpb.DocumentAnswer{Code: document.CodeSystemError, Detail: err.Error(), Version: a.latest})
		return
	}
	a.j.persist(ctx, &pending{ev: ev, done: func(ctx actor.Context, _ uint64, err error) {
		if err != nil {
			sendTo(ctx, sender, &opsyncpb.DocumentAnswer{Code: document.CodeSystemError, Detail: err.Error()})
			return
		}
		sendTo(ctx, sender, &opsyncpb.DocumentAnswer{Version: s.Version})
	}})
	a.j.flush()
}

// goneAnswer refuses a request to a session of a deleted environment.
func goneAnswer() *opsyncpb.DocumentAnswer {
	return &opsyncpb.DocumentAnswer{Code: document.CodeForbidden, Detail: ErrEnvDeleted.Error()}
}

// info is the session as it is now.
func (a *docSessionActor) info() *opsyncpb.DocumentSessionInfo {
	n, _ := a.j.state.Ops()
	res := &opsyncpb.DocumentSessionInfo{Version: a.j.state.Version(), Editors: uint32(len(a.editors)), Ops: uint32(n),
		SnapshotVersion: a.j.state.Snapshot().GetVersion()}
	res.Users = a.users()
	return res
}

// documentID is the document's id (the identity after its instance).
func (a *docSessionActor) documentID() string {
	_, id, _ := strings.Cut(a.identity, "/d/")
	return id
}
