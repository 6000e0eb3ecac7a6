package actors

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/opsync/opsync/internal/docrest"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A change of a document's permanent data journals its webhook event
// with it (DocDataEvent.hook) and is acknowledged only once the event is
// journaled in its environment's outbox too; a later event (hooked)
// records that the outbox has it. A crash between the two hands the
// event to the outbox again at the next activation (at least once, none
// lost). The document's actor takes no other command while events are on
// their way, so that they reach the outbox in the order of its changes.

// hooked is the outbox's answer to an append of the hooks up to seq
// upTo, back on the document's loop.
type hooked struct {
	upTo uint64
	err  string
}

// docHookRetry tries the outbox again after a failed append.
type docHookRetry struct{}

// hookWaiter is the caller of a change, answered once the outbox has
// the change's hook.
type hookWaiter struct {
	seq    uint64
	sender *actor.PID
	res    *opsyncpb.DocDataAnswer
}

// hookRetryAfter is the wait before the outbox is asked again.
const hookRetryAfter = time.Second

// hookTimeout bounds an outbox append.
const hookTimeout = 10 * time.Second

// webhookEventName is the service's webhook event of a change (""
// none: users and revisions have none).
func webhookEventName(action opsyncpb.DocAction, kind opsyncpb.DocKind) string {
	prefix := map[opsyncpb.DocKind]string{
		opsyncpb.DocKind_DOC_KIND_THREAD: "commentthread", opsyncpb.DocKind_DOC_KIND_COMMENT: "comment", opsyncpb.DocKind_DOC_KIND_SUGGESTION: "suggestion",
	}[kind]
	if prefix == "" {
		return ""
	}
	verb := map[opsyncpb.DocAction]string{
		opsyncpb.DocAction_DOC_ACTION_CREATE: "added", opsyncpb.DocAction_DOC_ACTION_UPDATE: "updated", opsyncpb.DocAction_DOC_ACTION_DELETE: "removed",
		opsyncpb.DocAction_DOC_ACTION_RESTORE: "restored", opsyncpb.DocAction_DOC_ACTION_RESOLVE: "resolved", opsyncpb.DocAction_DOC_ACTION_REOPEN: "reopened",
		opsyncpb.DocAction_DOC_ACTION_ACCEPT: "accepted", opsyncpb.DocAction_DOC_ACTION_REJECT: "rejected",
	}[action]
	if verb == "" {
		return ""
	}
	return prefix + "." + verb
}

// hookEvent is the webhook event of a change: the record as it is after
// it (as it was, for a removal for good); nil for none.
func hookEvent(cmd *opsyncpb.DocDataCommand, rec *opsyncpb.DocRecord, now int64) *opsyncpb.DocHookEvent {
	name := webhookEventName(cmd.Action, cmd.Kind)
	if name == "" || rec == nil {
		return nil
	}
	field := map[opsyncpb.DocKind]string{opsyncpb.DocKind_DOC_KIND_THREAD: "comment_thread", opsyncpb.DocKind_DOC_KIND_COMMENT: "comment",
		opsyncpb.DocKind_DOC_KIND_SUGGESTION: "suggestion"}[cmd.Kind]
	payload, _ := json.Marshal(map[string]any{"document": map[string]any{"id": cmd.DocumentId}, field: docrest.RecordJSON(rec)})
	var id [12]byte
	_, _ = rand.Read(id[:])
	return &opsyncpb.DocHookEvent{EventId: "evt_" + hex.EncodeToString(id[:]), DocumentId: cmd.DocumentId, Event: name, Payload: string(payload), CreatedAt: now}
}

// hooksOn: the node has a cluster, so an outbox to hand hooks to (the
// actor tests run without).
func (a *docDataActor) hooksOn() bool { return a.j.deps.System != nil }

// flushHooks hands the hooks the outbox is not known to have to it, one
// append at a time; the document takes no other command meanwhile, so
// that its events reach the outbox in the order of its changes.
func (a *docDataActor) flushHooks(ctx actor.Context) {
	un := a.j.state.Unhooked()
	if a.hooking || len(un) == 0 || !a.hooksOn() {
		return
	}
	a.hooking = true
	handToOutbox(ctx, a.j.deps.System, a.envID(), un)
}

// handToOutbox appends the queued hook events to env's outbox off the
// message loop (a cluster request may wait for the outbox's activation)
// and tells the actor of ctx how it went with a hooked message. Document
// records and document sessions hand their events over alike.
func handToOutbox(ctx actor.Context, system *actor.ActorSystem, env string, queued []*opsyncpb.DocHookQueued) {
	events := make([]*opsyncpb.DocHookEvent, len(queued))
	for i, q := range queued {
		events[i] = q.Event
	}
	upTo := queued[len(queued)-1].Seq
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		detail := ""
		ans, err := cluster.GetCluster(system).Request(env, KindDocHooks, &opsyncpb.AppendDocHooks{Events: events}, cluster.WithTimeout(hookTimeout))
		switch a, ok := ans.(*opsyncpb.DocHooksAnswer); {
		case err != nil:
			detail = err.Error()
		case !ok:
			detail = "the outbox answered no DocHooksAnswer"
		case a.Code != "":
			detail = a.Code + ": " + a.Detail
		}
		root.Send(self, &hooked{upTo: upTo, err: detail})
	}()
}

// onHooked answers the changes whose hooks the outbox now has and
// records it (a crash before that record sends them again: at least
// once); a failure is tried again, the document waiting.
func (a *docDataActor) onHooked(ctx actor.Context, m *hooked) {
	if m.err != "" {
		a.j.log.Warn("webhook events not handed to the outbox; trying again", slog.String("err", m.err))
		self, root := ctx.Self(), ctx.ActorSystem().Root
		a.j.deps.Clock.AfterFunc(hookRetryAfter, func() { root.Send(self, &docHookRetry{}) })
		return // still hooking: commands wait
	}
	a.hooking = false
	keep := a.hookWaiters[:0]
	for _, w := range a.hookWaiters {
		if w.seq <= m.upTo {
			sendTo(ctx, w.sender, w.res)
		} else {
			keep = append(keep, w)
		}
	}
	a.hookWaiters = keep
	sealed, err := a.seal(&opsyncpb.DocDataEvent{Hooked: m.upTo})
	if err != nil {
		return
	}
	a.j.persist(ctx, &pending{ev: &opsyncpb.Event{Time: a.j.deps.now().UnixMilli(), Kind: sealed}})
	a.j.flush()
}

// envID is the environment of the actor's document.
func (a *docDataActor) envID() string {
	env, _, _ := cutDocIdentity(a.identity)
	return env
}

func cutDocIdentity(identity string) (env, doc string, ok bool) {
	return strings.Cut(identity, "/d/")
}
