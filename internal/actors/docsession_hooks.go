package actors

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A session's collaboration webhooks go through its environment's outbox
// as the permanent data's do (docdata_hooks.go): each is journaled in the
// session's journal first (sealed, DocSessionEvent.hook), handed to the
// outbox one append at a time in journal order, and a later event
// (hooked) records that the outbox has it; a crash between the two hands
// it over again at the next activation (at least once). Operations do not
// wait for the outbox: only the session's removal does, so that its
// collaboration.document.removed is in the outbox before its journal goes.

// Collaboration webhook events.
const (
	HookUserConnected    = "collaboration.user.connected"
	HookUserDisconnected = "collaboration.user.disconnected"
	HookDocumentUpdated  = "collaboration.document.updated"
	HookDocumentRemoved  = "collaboration.document.removed"
)

// DocUpdatedEvery is the least time between two
// collaboration.document.updated events of a document: the first
// accepted batch after a quiet spell is announced at once, the batches
// within DocUpdatedEvery after it in one event at its end (with the
// version then), and the last editor's leaving announces what is not yet.
const DocUpdatedEvery = 5 * time.Second

// docUpdateDue is the local message of the coalescing timer.
type docUpdateDue struct{}

// sessionHookWaiter runs once the outbox has the hook journaled at seq.
type sessionHookWaiter struct {
	seq  uint64
	then func(ctx actor.Context)
}

// hooksOn: the node has a cluster, so an outbox to hand hooks to (the
// actor tests run without).
func (a *docSessionActor) hooksOn() bool { return a.j.deps.System != nil && a.key != nil }

// announce journals the webhook event name with payload; then (if set)
// runs once the outbox has it (at once without hooks).
func (a *docSessionActor) announce(ctx actor.Context, name string, payload map[string]any, then func(ctx actor.Context)) {
	a.announceWith(ctx, &opsyncpb.DocSessionEvent{}, name, payload, then)
}

// announceWith is announce journaling e (which may name a user joined or
// left) with the hook.
func (a *docSessionActor) announceWith(ctx actor.Context, e *opsyncpb.DocSessionEvent, name string, payload map[string]any, then func(ctx actor.Context)) {
	if !a.hooksOn() {
		if then != nil {
			then(ctx)
		}
		return
	}
	now := a.j.deps.now()
	payload["document"].(map[string]any)["id"] = a.documentID()
	body, _ := json.Marshal(payload)
	var id [12]byte
	_, _ = rand.Read(id[:])
	hook := &opsyncpb.DocHookEvent{EventId: "evt_" + hex.EncodeToString(id[:]), DocumentId: a.documentID(), Event: name, Payload: string(body), CreatedAt: now.UnixMilli()}
	e.Hook = hook
	ev, err := a.sealEvent(now.UnixMilli(), e)
	if err != nil {
		a.j.log.Warn("webhook event not journaled", slog.String("event", name), slog.Any("err", err))
		return
	}
	a.j.persist(ctx, &pending{ev: ev, done: func(ctx actor.Context, seq uint64, err error) {
		if err != nil {
			return // the actor fails and recovers from its journal
		}
		if then != nil {
			a.hookWaiters = append(a.hookWaiters, sessionHookWaiter{seq: seq, then: then})
		}
		a.flushHooks(ctx)
	}})
	a.j.flush()
}

// flushHooks hands the hooks the outbox is not known to have to it, one
// append at a time, so that they reach it in journal order.
func (a *docSessionActor) flushHooks(ctx actor.Context) {
	un := a.j.state.Unhooked()
	if a.hooking || len(un) == 0 || !a.hooksOn() {
		return
	}
	a.hooking = true
	env, _, _ := cutDocIdentity(a.identity)
	handToOutbox(ctx, a.j.deps.System, env, un)
}

// onHooked records that the outbox has the hooks up to m.upTo, then runs
// what waited for them; a failure is tried again.
func (a *docSessionActor) onHooked(ctx actor.Context, m *hooked) {
	if m.err != "" {
		a.j.log.Warn("webhook events not handed to the outbox; trying again", slog.String("err", m.err))
		self, root := ctx.Self(), ctx.ActorSystem().Root
		a.j.deps.Clock.AfterFunc(hookRetryAfter, func() { root.Send(self, &docHookRetry{}) })
		return
	}
	ev, err := a.sealEvent(a.j.deps.now().UnixMilli(), &opsyncpb.DocSessionEvent{Hooked: m.upTo})
	if err != nil {
		a.hooking = false
		return
	}
	a.j.persist(ctx, &pending{ev: ev, done: func(ctx actor.Context, _ uint64, err error) {
		a.hooking = false
		if err != nil {
			return
		}
		var due []sessionHookWaiter
		keep := a.hookWaiters[:0]
		for _, w := range a.hookWaiters {
			if w.seq <= m.upTo {
				due = append(due, w)
			} else {
				keep = append(keep, w)
			}
		}
		a.hookWaiters = keep
		for _, w := range due {
			w.then(ctx)
		}
		a.flushHooks(ctx)
	}})
	a.j.flush()
}

// users is the distinct users of the connected editors, sorted.
func (a *docSessionActor) users() []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range a.editors {
		if !seen[e.user] {
			seen[e.user] = true
			out = append(out, e.user)
		}
	}
	sort.Strings(out)
	return out
}

func (a *docSessionActor) connectedUsers() []map[string]any {
	out := []map[string]any{}
	for _, u := range a.users() {
		out = append(out, map[string]any{"id": u})
	}
	return out
}

// hasUser reports whether an editor of user is connected.
func (a *docSessionActor) hasUser(user string) bool {
	for _, e := range a.editors {
		if e.user == user {
			return true
		}
	}
	return false
}

// announceUser announces that user connected or disconnected.
func (a *docSessionActor) announceUser(ctx actor.Context, name, user string) {
	e := &opsyncpb.DocSessionEvent{UserJoined: user}
	if name == HookUserDisconnected {
		e = &opsyncpb.DocSessionEvent{UserLeft: user}
	}
	a.announceWith(ctx, e, name, map[string]any{"user": map[string]any{"id": user}, "document": map[string]any{}, "connected_users": a.connectedUsers()}, nil)
}

// announceCrashed announces gone the users the journal says connected
// when the session starts without editors: its node crashed (or left)
// before they left. Those that reconnect are announced connected again.
func (a *docSessionActor) announceCrashed(ctx actor.Context) {
	left := a.j.state.Users()
	for i, user := range left {
		still := []map[string]any{}
		for _, u := range left[i+1:] {
			still = append(still, map[string]any{"id": u})
		}
		a.announceWith(ctx, &opsyncpb.DocSessionEvent{UserLeft: user}, HookUserDisconnected,
			map[string]any{"user": map[string]any{"id": user}, "document": map[string]any{}, "connected_users": still}, nil)
	}
}

// versionAdvanced announces the session's new version, coalesced (see
// DocUpdatedEvery).
func (a *docSessionActor) versionAdvanced(ctx actor.Context) {
	if a.updateTimer != nil || a.removing {
		return // an announcement is due
	}
	if wait := a.lastUpdated.Add(DocUpdatedEvery).Sub(a.j.deps.now()); wait > 0 {
		self, root := ctx.Self(), ctx.ActorSystem().Root
		a.updateTimer = a.j.deps.Clock.AfterFunc(wait, func() { root.Send(self, &docUpdateDue{}) })
		return
	}
	a.announceUpdated(ctx)
}

// announceUpdated announces the session's version unless it was.
func (a *docSessionActor) announceUpdated(ctx actor.Context) {
	if a.updateTimer != nil {
		a.updateTimer()
		a.updateTimer = nil
	}
	v := a.j.state.Version()
	if v == 0 || v == a.announced || a.removing {
		return
	}
	a.announced, a.lastUpdated = v, a.j.deps.now()
	a.announce(ctx, HookDocumentUpdated, map[string]any{
		"document":        map[string]any{"version": v, "updated_at": time.UnixMilli(a.j.state.UpdatedAt()).UTC().Format("2006-01-02T15:04:05.000Z")},
		"connected_users": a.connectedUsers(),
	}, nil)
}
