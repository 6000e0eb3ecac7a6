package actors

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/opsync/opsync/internal/docrest"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A change of a document's permanent data is acknowledged only once the
// webhook event it makes is journaled in its environment's outbox; the
// document's actor takes no other command meanwhile, so that its events
// reach the outbox in the order of its changes.

// hooked is the outbox's answer to an append, back on the document's loop.
type hooked struct {
	sender *actor.PID
	res    *opsyncpb.DocDataAnswer
	err    string
}

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

// hookEvent is the webhook event of a change stored at seq: the record
// as it is after it (as it was, for a removal for good); nil for none.
func hookEvent(envID string, cmd *opsyncpb.DocDataCommand, rec *opsyncpb.DocRecord, seq uint64, now int64) *opsyncpb.DocHookEvent {
	name := webhookEventName(cmd.Action, cmd.Kind)
	if name == "" || rec == nil {
		return nil
	}
	field := map[opsyncpb.DocKind]string{opsyncpb.DocKind_DOC_KIND_THREAD: "comment_thread", opsyncpb.DocKind_DOC_KIND_COMMENT: "comment",
		opsyncpb.DocKind_DOC_KIND_SUGGESTION: "suggestion"}[cmd.Kind]
	payload, _ := json.Marshal(map[string]any{"document": map[string]any{"id": cmd.DocumentId}, field: docrest.RecordJSON(rec)})
	h := sha256.Sum256([]byte(envID + "\x00" + cmd.DocumentId + "\x00" + strconv.FormatUint(seq, 10)))
	return &opsyncpb.DocHookEvent{EventId: "evt_" + hex.EncodeToString(h[:12]), DocumentId: cmd.DocumentId, Event: name, Payload: string(payload), CreatedAt: now}
}

// announce hands the change's webhook event to the outbox and answers
// sender once it is journaled there.
func (a *docDataActor) announce(ctx actor.Context, sender *actor.PID, ev *opsyncpb.DocHookEvent, res *opsyncpb.DocDataAnswer) {
	system := a.j.deps.System
	if ev == nil || system == nil {
		sendTo(ctx, sender, res)
		return
	}
	a.hooking = true
	envID := a.envID()
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		var detail string
		for attempt := 0; attempt < 3; attempt++ {
			ans, err := cluster.GetCluster(system).Request(envID, KindDocHooks, &opsyncpb.AppendDocHooks{Events: []*opsyncpb.DocHookEvent{ev}}, cluster.WithTimeout(hookTimeout))
			switch a, ok := ans.(*opsyncpb.DocHooksAnswer); {
			case err != nil:
				detail = err.Error()
				continue
			case !ok:
				detail = "the outbox answered no DocHooksAnswer"
				continue
			case a.Code != "":
				detail = a.Code + ": " + a.Detail
			default:
				detail = ""
			}
			break
		}
		root.Send(self, &hooked{sender: sender, res: res, err: detail})
	}()
}

func (a *docDataActor) onHooked(ctx actor.Context, m *hooked) {
	a.hooking = false
	if m.err != "" {
		a.j.log.Error("a change is stored but its webhook event could not be journaled: " + m.err)
		sendTo(ctx, m.sender, &opsyncpb.DocDataAnswer{Code: DocDataSystemError, Detail: "the change is stored, but its webhook event could not be journaled: " + m.err})
		return
	}
	sendTo(ctx, m.sender, m.res)
}

// envID is the environment of the actor's document.
func (a *docDataActor) envID() string {
	env, _, _ := cutDocIdentity(a.identity)
	return env
}

func cutDocIdentity(identity string) (env, doc string, ok bool) {
	return strings.Cut(identity, "/d/")
}
