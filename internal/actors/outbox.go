package actors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/internal/webhook"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// KindDocHooks is the cluster kind of environments' webhook outboxes: one
// actor per environment keeps the webhooks and journals every event
// before the change that made it is acknowledged, then POSTs it to each
// webhook that wants it, in order, again with backoff until it answers
// 2xx, across restarts (the node wakes every outbox it stores at start).
const KindDocHooks = "dochooks"

// Codes of DocHooksAnswer.
const (
	DocHooksFull        = "OUTBOX_FULL"
	DocHooksInvalid     = "INVALID"
	DocHooksSystemError = "SYSTEM_ERROR"
)

func webhookSecretPurpose(envID string) string { return "doc-webhook-secret:" + envID }

// DocHooksKind is the cluster kind of webhook outboxes.
func DocHooksKind(d *Deps) *cluster.Kind {
	deps := d.withDefaults()
	return cluster.NewKind(KindDocHooks, actor.PropsFromProducer(func() actor.Actor { return newOutboxActor(deps) }))
}

func newOutboxActor(deps *Deps) *outboxActor {
	return &outboxActor{j: newJournaled(deps, KindDocHooks, func(s *state.Outbox) proto.Message { return s.Snapshot() })}
}

type outboxActor struct {
	j       *journaled[*state.Outbox]
	envID   string
	hooks   map[string]*hookRun // by webhook id
	waiting []stashed
	queued  int // what this actor added to metrics.DocWebhookQueued
	// key seals the payloads the outbox journals (taken when first needed).
	key *EnvKey
}

// envKey is the environment's data key, taken once per activation.
func (a *outboxActor) envKey() (*EnvKey, error) {
	if a.key == nil {
		k, err := envKeysOf(a.j.deps).EnvKey(a.envID)
		if err != nil {
			return nil, err
		}
		a.key = k
	}
	return a.key, nil
}

func (a *outboxActor) aad() string { return JournalID(KindDocHooks, a.envID) }

// hookRun is a webhook's delivery at run time (not journaled).
type hookRun struct {
	busy        bool // a POST or a backoff wait is under way
	attempts    uint32
	lastError   string
	lastAttempt int64
	lastSuccess int64
	stopTimer   func() bool
}

type hookResult struct {
	webhookID string
	seq       uint64
	err       error
}

type hookRetry struct{ webhookID string }

func (a *outboxActor) Receive(ctx actor.Context) {
	if a.j.receive(ctx) {
		a.next(ctx)
		a.kickAll(ctx)
		a.gauge()
		return
	}
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		a.envID = m.Identity.Identity
		a.hooks = map[string]*hookRun{}
		if _, err := envKeysOf(a.j.deps).EnvKey(a.envID); errors.Is(err, ErrEnvDeleted) {
			// The environment was deleted: its events go, undelivered.
			a.j.state = state.NewOutbox()
			a.j.purge(ctx, m)
			ctx.SetReceiveTimeout(a.j.deps.PassivateAfter)
			return
		}
		if a.j.recover(ctx, m, state.NewOutbox, restoreWith(func() *opsyncpb.DocHooksSnapshot { return &opsyncpb.DocHooksSnapshot{} }, state.RestoreOutbox)) != nil {
			ctx.Stop(ctx.Self())
			return
		}
		ctx.SetReceiveTimeout(a.j.deps.PassivateAfter)
		a.kickAll(ctx)
		a.gauge()
	case *opsyncpb.AppendDocHooks, *opsyncpb.SetDocHooks:
		a.waiting = append(a.waiting, stashed{msg: m, sender: ctx.Sender()})
		a.next(ctx)
	case *opsyncpb.GetDocHooks:
		respond(ctx, a.status())
	case *opsyncpb.WakeDocHooks:
		respond(ctx, &opsyncpb.DocHooksAnswer{Queued: uint32(a.j.state.Queued())})
	case *hookResult:
		a.onResult(ctx, m)
	case *hookRetry:
		if h := a.hooks[m.webhookID]; h != nil {
			h.busy = false
		}
		a.kickAll(ctx)
	case *actor.ReceiveTimeout:
		// An outbox with events to deliver stays active.
		if a.j.idle() && len(a.waiting) == 0 && a.j.state.Queued() == 0 {
			ctx.Stop(ctx.Self())
		}
	case *actor.Stopping:
		for _, h := range a.hooks {
			if h.stopTimer != nil {
				h.stopTimer()
			}
		}
		metrics.DocWebhookQueued.Sub(float64(a.queued))
		a.queued = 0
	}
}

func (a *outboxActor) gauge() {
	n := a.j.state.Queued()
	metrics.DocWebhookQueued.Add(float64(n - a.queued))
	a.queued = n
}

// next handles the waiting changes while none is being written.
func (a *outboxActor) next(ctx actor.Context) {
	for len(a.waiting) > 0 && !a.j.busy() {
		s := a.waiting[0]
		a.waiting = a.waiting[1:]
		var res *opsyncpb.DocHooksAnswer
		switch m := s.msg.(type) {
		case *opsyncpb.AppendDocHooks:
			res = a.onAppend(ctx, s.sender, m)
		case *opsyncpb.SetDocHooks:
			res = a.onSet(ctx, s.sender, m)
		}
		if res != nil {
			sendTo(ctx, s.sender, res)
		}
	}
}

func hooksEvent(now int64, e *opsyncpb.DocHooksEvent) *opsyncpb.Event {
	return &opsyncpb.Event{Time: now, Kind: &opsyncpb.Event_DocHooks{DocHooks: e}}
}

// onAppend journals each event on its own (a webhook's cursor is a seq),
// and answers once all are durable.
func (a *outboxActor) onAppend(ctx actor.Context, sender *actor.PID, m *opsyncpb.AppendDocHooks) *opsyncpb.DocHooksAnswer {
	if len(m.Events) == 0 || len(a.j.state.Webhooks()) == 0 {
		// No webhook is there to want them (one set later receives what
		// comes after it).
		return &opsyncpb.DocHooksAnswer{}
	}
	size := 0
	for _, e := range m.Events {
		size += proto.Size(e)
	}
	if a.j.state.Queued()+len(m.Events) > state.MaxOutbox || a.j.state.Bytes()+size > state.MaxOutboxBytes {
		return &opsyncpb.DocHooksAnswer{Code: DocHooksFull, Detail: "the environment's webhook outbox holds the most undelivered events it may: a webhook does not answer 2xx"}
	}
	key, err := a.envKey()
	if err != nil {
		return &opsyncpb.DocHooksAnswer{Code: DocHooksSystemError, Detail: "no data key to seal the events with: " + err.Error()}
	}
	now := a.j.deps.now().UnixMilli()
	left := len(m.Events)
	var failed error
	for _, e := range m.Events {
		// The payload holds comments' contents: journaled sealed only.
		e = proto.Clone(e).(*opsyncpb.DocHookEvent)
		e.PayloadSealed, e.Payload = key.Seal([]byte(e.Payload), a.aad()), ""
		ev := hooksEvent(now, &opsyncpb.DocHooksEvent{Kind: &opsyncpb.DocHooksEvent_Appended{Appended: &opsyncpb.DocHooksAppended{Events: []*opsyncpb.DocHookEvent{e}}}})
		a.j.persist(ctx, &pending{ev: ev, done: func(ctx actor.Context, _ uint64, err error) {
			if err != nil && failed == nil {
				failed = err
			}
			if left--; left == 0 {
				if failed != nil {
					sendTo(ctx, sender, &opsyncpb.DocHooksAnswer{Code: DocHooksSystemError, Detail: failed.Error()})
					return
				}
				sendTo(ctx, sender, &opsyncpb.DocHooksAnswer{})
			}
		}})
	}
	a.j.flush()
	return nil
}

// webhookID is a webhook's id: derived from its URL, so that setting the
// same URL again keeps its cursor.
func webhookID(u string) string {
	h := sha256.Sum256([]byte(u))
	return "wh_" + hex.EncodeToString(h[:8])
}

func (a *outboxActor) onSet(ctx actor.Context, sender *actor.PID, m *opsyncpb.SetDocHooks) *opsyncpb.DocHooksAnswer {
	if a.j.deps.MasterKey == nil {
		return &opsyncpb.DocHooksAnswer{Code: DocHooksSystemError, Detail: errNoMasterKey.Error()}
	}
	if len(m.Webhooks) > 16 {
		return &opsyncpb.DocHooksAnswer{Code: DocHooksInvalid, Detail: "an environment has at most 16 webhooks"}
	}
	set := &opsyncpb.DocHooksSet{}
	seen := map[string]bool{}
	for _, w := range m.Webhooks {
		if err := a.j.deps.Webhooks.CheckURL(w.Url); err != nil {
			return &opsyncpb.DocHooksAnswer{Code: DocHooksInvalid, Detail: err.Error()}
		}
		if w.Secret == "" {
			return &opsyncpb.DocHooksAnswer{Code: DocHooksInvalid, Detail: "a webhook needs a secret to sign its requests with"}
		}
		id := webhookID(w.Url)
		if seen[id] {
			return &opsyncpb.DocHooksAnswer{Code: DocHooksInvalid, Detail: "webhook url " + w.Url + " is given twice"}
		}
		seen[id] = true
		set.Webhooks = append(set.Webhooks, &opsyncpb.DocWebhook{Id: id, Url: w.Url, Events: w.Events,
			SecretSealed: a.j.deps.MasterKey.Seal([]byte(w.Secret), webhookSecretPurpose(a.envID))})
	}
	now := a.j.deps.now().UnixMilli()
	a.j.persist(ctx, &pending{ev: hooksEvent(now, &opsyncpb.DocHooksEvent{Kind: &opsyncpb.DocHooksEvent_Set{Set: set}}), done: func(ctx actor.Context, _ uint64, err error) {
		if err != nil {
			sendTo(ctx, sender, &opsyncpb.DocHooksAnswer{Code: DocHooksSystemError, Detail: err.Error()})
			return
		}
		for id := range a.hooks {
			if !seen[id] {
				if h := a.hooks[id]; h.stopTimer != nil {
					h.stopTimer()
				}
				delete(a.hooks, id)
			}
		}
		sendTo(ctx, sender, a.status())
	}})
	a.j.flush()
	return nil
}

// status is the webhooks and their delivery state.
func (a *outboxActor) status() *opsyncpb.DocHooksAnswer {
	st := a.j.state
	res := &opsyncpb.DocHooksAnswer{Queued: uint32(st.Queued())}
	for _, w := range st.Webhooks() {
		s := &opsyncpb.DocWebhookState{Id: w.Id, Url: w.Url, Events: w.Events, Pending: uint32(st.Pending(w)), DeliveredSeq: st.Cursor(w.Id)}
		if h := a.hooks[w.Id]; h != nil {
			s.Attempts, s.LastError, s.LastAttemptAt, s.LastSuccessAt = h.attempts, h.lastError, h.lastAttempt, h.lastSuccess
		}
		res.Webhooks = append(res.Webhooks, s)
	}
	return res
}

// kickAll starts a delivery to each webhook that is idle and has an
// event to receive.
func (a *outboxActor) kickAll(ctx actor.Context) {
	if a.j.failed {
		return
	}
	for _, w := range a.j.state.Webhooks() {
		h := a.hooks[w.Id]
		if h == nil {
			h = &hookRun{}
			a.hooks[w.Id] = h
		}
		if h.busy {
			continue
		}
		next, skip := a.j.state.Next(w)
		if next == nil {
			if skip > a.j.state.Cursor(w.Id) && !a.j.busy() {
				// Nothing it wants is left: its cursor moves past what it
				// does not want, so that those events can be dropped.
				a.j.persist(ctx, &pending{ev: hooksEvent(a.j.deps.now().UnixMilli(), &opsyncpb.DocHooksEvent{Kind: &opsyncpb.DocHooksEvent_Delivered{Delivered: &opsyncpb.DocHooksDelivered{WebhookId: w.Id, Seq: skip}}})})
				a.j.flush()
			}
			continue
		}
		secret, err := a.j.deps.MasterKey.Open(w.SecretSealed, webhookSecretPurpose(a.envID))
		if err != nil {
			h.lastError = "the webhook's secret does not open with this node's master key: " + err.Error()
			continue
		}
		payload := next.Event.Payload
		if len(next.Event.PayloadSealed) > 0 {
			key, err := a.envKey()
			var plain []byte
			if err == nil {
				plain, err = key.Open(next.Event.PayloadSealed, a.aad())
			}
			if err != nil {
				h.lastError = "the event's payload does not open: " + err.Error()
				continue
			}
			payload = string(plain)
		}
		h.busy = true
		h.attempts++
		now := a.j.deps.now()
		h.lastAttempt = now.UnixMilli()
		body := webhook.Body(next.Event.EventId, next.Event.Event, a.envID, payload, now)
		self, root, url, id, seq, sender := ctx.Self(), ctx.ActorSystem().Root, w.Url, w.Id, next.Seq, a.j.deps.Webhooks
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), webhook.Timeout)
			err := sender.Post(ctx, url, secret, body, time.Now())
			cancel()
			root.Send(self, &hookResult{webhookID: id, seq: seq, err: err})
		}()
	}
}

func (a *outboxActor) onResult(ctx actor.Context, m *hookResult) {
	h := a.hooks[m.webhookID]
	if h == nil {
		return // removed meanwhile
	}
	if m.err != nil {
		metrics.DocWebhookDeliveries.WithLabelValues("failed").Inc()
		h.lastError = m.err.Error()
		wait := webhook.Backoff(int(h.attempts))
		a.j.log.Debug("webhook delivery failed", slog.String("webhook", m.webhookID), slog.Any("err", m.err), slog.Duration("retryIn", wait))
		self, root := ctx.Self(), ctx.ActorSystem().Root
		h.stopTimer = a.j.deps.Clock.AfterFunc(wait, func() { root.Send(self, &hookRetry{webhookID: m.webhookID}) })
		return
	}
	metrics.DocWebhookDeliveries.WithLabelValues("ok").Inc()
	h.attempts, h.lastError, h.lastSuccess = 0, "", a.j.deps.now().UnixMilli()
	ev := hooksEvent(a.j.deps.now().UnixMilli(), &opsyncpb.DocHooksEvent{Kind: &opsyncpb.DocHooksEvent_Delivered{Delivered: &opsyncpb.DocHooksDelivered{WebhookId: m.webhookID, Seq: m.seq}}})
	a.j.persist(ctx, &pending{ev: ev, done: func(ctx actor.Context, _ uint64, err error) {
		// Busy until its cursor moved, so that the same event is not
		// sent again meanwhile.
		h.busy = false
	}})
	a.j.flush()
}
