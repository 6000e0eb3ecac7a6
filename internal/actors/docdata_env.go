package actors

import (
	"crypto/rand"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/internal/docrest"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// KindDocEnv is the cluster kind of environments' document config: one
// actor per environment (= instance id) keeps the REST API secret,
// sealed with the master key, and checks request signatures with it, so
// that the secret in clear never leaves the actor but in the answer of
// the rotation that made it.
const KindDocEnv = "docenv"

// Codes of DocEnvAnswer.
const (
	DocEnvNoSecret    = "NO_SECRET"
	DocEnvBadSig      = "BAD_SIGNATURE"
	DocEnvSystemError = "SYSTEM_ERROR"
)

// docSecretPurpose is what an environment's API secret is sealed for, so
// that a sealed secret copied to another environment does not open there.
func docSecretPurpose(envID string) string { return "doc-api-secret:" + envID }

// DocEnvKind is the cluster kind of environments' document config.
func DocEnvKind(d *Deps) *cluster.Kind {
	deps := d.withDefaults()
	return cluster.NewKind(KindDocEnv, actor.PropsFromProducer(func() actor.Actor { return newDocEnvActor(deps) }))
}

func newDocEnvActor(deps *Deps) *docEnvActor {
	return &docEnvActor{j: newJournaled(deps, KindDocEnv, func(s *state.DocEnv) proto.Message { return s.Snapshot() })}
}

type docEnvActor struct {
	j     *journaled[*state.DocEnv]
	envID string
	// secret is the opened API secret, kept in memory only.
	secret []byte
	// waitKeys are the callers of a key being added.
	waitKeys []*actor.PID
}

// refuseDestroyed answers a command to a deleted environment.
func (a *docEnvActor) refuseDestroyed(ctx actor.Context) bool {
	if !a.j.state.Destroyed() {
		return false
	}
	respond(ctx, &opsyncpb.DocEnvAnswer{Destroyed: true, Code: DocEnvNoSecret, Detail: ErrEnvDeleted.Error()})
	return true
}

// addKey journals a new data key, wrapped, and answers every waiting
// caller with the keys.
func (a *docEnvActor) addKey(ctx actor.Context) {
	answer := func(ctx actor.Context, res *opsyncpb.DocEnvAnswer) {
		for _, pid := range a.waitKeys {
			sendTo(ctx, pid, res)
		}
		a.waitKeys = nil
	}
	if a.j.deps.MasterKey == nil {
		answer(ctx, &opsyncpb.DocEnvAnswer{Code: DocEnvSystemError, Detail: errNoMasterKey.Error()})
		return
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		answer(ctx, &opsyncpb.DocEnvAnswer{Code: DocEnvSystemError, Detail: err.Error()})
		return
	}
	version := uint32(1)
	if keys := a.j.state.Keys(); len(keys) > 0 {
		version = keys[len(keys)-1].Version + 1
	}
	now := a.j.deps.now().UnixMilli()
	set := &opsyncpb.DocEnvKeySet{Version: version, KeyWrapped: a.j.deps.MasterKey.Seal(raw, envKeyPurpose(a.envID)), SetAt: now}
	ev := &opsyncpb.Event{Time: now, Kind: &opsyncpb.Event_DocEnv{DocEnv: &opsyncpb.DocEnvEvent{Kind: &opsyncpb.DocEnvEvent_KeySet{KeySet: set}}}}
	a.j.persist(ctx, &pending{ev: ev, done: func(ctx actor.Context, _ uint64, err error) {
		if err != nil {
			answer(ctx, &opsyncpb.DocEnvAnswer{Code: DocEnvSystemError, Detail: err.Error()})
			return
		}
		answer(ctx, &opsyncpb.DocEnvAnswer{Keys: a.j.state.Keys()})
	}})
	a.j.flush()
}

// onDestroy deletes the environment's keys and secret: the event, then
// the journal below a snapshot that keeps only that it is destroyed.
func (a *docEnvActor) onDestroy(ctx actor.Context) {
	if a.j.state.Destroyed() {
		respond(ctx, &opsyncpb.DocEnvAnswer{Destroyed: true})
		return
	}
	now := a.j.deps.now().UnixMilli()
	sender := ctx.Sender()
	ev := &opsyncpb.Event{Time: now, Kind: &opsyncpb.Event_DocEnv{DocEnv: &opsyncpb.DocEnvEvent{Kind: &opsyncpb.DocEnvEvent_Destroyed{Destroyed: &opsyncpb.DocEnvDestroyed{At: now}}}}}
	a.j.persist(ctx, &pending{ev: ev, done: func(ctx actor.Context, _ uint64, err error) {
		if err != nil {
			sendTo(ctx, sender, &opsyncpb.DocEnvAnswer{Code: DocEnvSystemError, Detail: err.Error()})
			return
		}
		a.secret = nil
		a.j.removeJournal(true)
		sendTo(ctx, sender, &opsyncpb.DocEnvAnswer{Destroyed: true})
	}})
	a.j.flush()
}

func (a *docEnvActor) Receive(ctx actor.Context) {
	if a.j.receive(ctx) {
		return
	}
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		a.envID = m.Identity.Identity
		if a.j.recover(ctx, m, state.NewDocEnv, restoreWith(func() *opsyncpb.DocEnvSnapshot { return &opsyncpb.DocEnvSnapshot{} }, state.RestoreDocEnv)) != nil {
			ctx.Stop(ctx.Self())
			return
		}
		ctx.SetReceiveTimeout(a.j.deps.PassivateAfter)
	case *opsyncpb.RotateDocSecret:
		if a.refuseDestroyed(ctx) {
			return
		}
		a.onRotate(ctx)
	case *opsyncpb.GetDocKeys:
		if a.refuseDestroyed(ctx) {
			return
		}
		if len(a.j.state.Keys()) == 0 {
			// The first ask makes the first key; asks meanwhile wait.
			a.waitKeys = append(a.waitKeys, ctx.Sender())
			if len(a.waitKeys) == 1 {
				a.addKey(ctx)
			}
			return
		}
		respond(ctx, &opsyncpb.DocEnvAnswer{Keys: a.j.state.Keys()})
	case *opsyncpb.RotateDocKey:
		if a.refuseDestroyed(ctx) {
			return
		}
		a.waitKeys = append(a.waitKeys, ctx.Sender())
		if len(a.waitKeys) == 1 {
			a.addKey(ctx)
		}
	case *opsyncpb.DestroyDocEnv:
		a.onDestroy(ctx)
	case *opsyncpb.VerifyDocRequest:
		a.onVerify(ctx, m)
	case *opsyncpb.GetDocEnv:
		s := a.j.state.Secret()
		respond(ctx, &opsyncpb.DocEnvAnswer{SecretPrefix: s.GetSecretPrefix(), SecretSetAt: s.GetSetAt(), Destroyed: a.j.state.Destroyed()})
	case *actor.ReceiveTimeout:
		if a.j.idle() {
			ctx.Stop(ctx.Self())
		}
	}
}

func (a *docEnvActor) onRotate(ctx actor.Context) {
	if a.j.deps.MasterKey == nil {
		respond(ctx, &opsyncpb.DocEnvAnswer{Code: DocEnvSystemError, Detail: errNoMasterKey.Error()})
		return
	}
	secret := auth.NewKey()
	now := a.j.deps.now().UnixMilli()
	set := &opsyncpb.DocEnvSecretSet{SecretSealed: a.j.deps.MasterKey.Seal([]byte(secret), docSecretPurpose(a.envID)),
		SecretPrefix: auth.KeyPrefix(secret), SetAt: now}
	sender := ctx.Sender()
	ev := &opsyncpb.Event{Time: now, Kind: &opsyncpb.Event_DocEnv{DocEnv: &opsyncpb.DocEnvEvent{Kind: &opsyncpb.DocEnvEvent_SecretSet{SecretSet: set}}}}
	a.j.persist(ctx, &pending{ev: ev, done: func(ctx actor.Context, _ uint64, err error) {
		if err != nil {
			sendTo(ctx, sender, &opsyncpb.DocEnvAnswer{Code: DocEnvSystemError, Detail: err.Error()})
			return
		}
		a.secret = []byte(secret)
		sendTo(ctx, sender, &opsyncpb.DocEnvAnswer{Secret: secret, SecretPrefix: set.SecretPrefix, SecretSetAt: now})
	}})
	a.j.flush()
}

func (a *docEnvActor) onVerify(ctx actor.Context, m *opsyncpb.VerifyDocRequest) {
	secret, code, detail := a.openSecret()
	if code != "" {
		respond(ctx, &opsyncpb.DocEnvAnswer{Code: code, Detail: detail})
		return
	}
	if !docrest.Valid(secret, m.Message, m.Signature) {
		respond(ctx, &opsyncpb.DocEnvAnswer{Code: DocEnvBadSig, Detail: "the request's " + docrest.SignatureHeader + " is not its HMAC-SHA256 under the environment's API secret"})
		return
	}
	respond(ctx, &opsyncpb.DocEnvAnswer{})
}

// openSecret is the API secret in clear, opened once per activation.
func (a *docEnvActor) openSecret() ([]byte, string, string) {
	if a.secret != nil {
		return a.secret, "", ""
	}
	s := a.j.state.Secret()
	if a.j.state.Destroyed() {
		return nil, DocEnvNoSecret, ErrEnvDeleted.Error()
	}
	if s == nil {
		return nil, DocEnvNoSecret, "the environment has no API secret: an admin issues one (POST /api/v1/instances/{id}/doc/secret)"
	}
	if a.j.deps.MasterKey == nil {
		return nil, DocEnvSystemError, errNoMasterKey.Error()
	}
	secret, err := a.j.deps.MasterKey.Open(s.SecretSealed, docSecretPurpose(a.envID))
	if err != nil {
		return nil, DocEnvSystemError, "the environment's API secret does not open with this node's master key: " + err.Error()
	}
	a.secret = secret
	return secret, "", ""
}
