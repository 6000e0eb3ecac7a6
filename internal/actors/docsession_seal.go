package actors

import (
	"errors"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A document session journals sealed with its environment's data key,
// as the document's permanent data does (docdata_seal.go): every event
// (Event.doc_session_sealed) and every snapshot (DocSessionSnapshot
// .sealed), for the journal's id. The key is taken at activation; a
// session of a deleted environment deletes its journal and holds
// nothing (editors are refused).

// activate takes the environment's key and recovers the state with it;
// false when the actor stopped.
func (a *docSessionActor) activate(ctx actor.Context, m *cluster.ClusterInit) bool {
	env, _, _ := cutDocIdentity(a.identity)
	key, err := envKeysOf(a.j.deps).EnvKey(env)
	switch {
	case errors.Is(err, ErrEnvDeleted):
		a.gone = true
		a.j.state = state.NewDocSession()
		a.j.purge(ctx, m)
		return true
	case err != nil:
		a.j.deps.Logger.Error("document session: no environment key", slog.String("document", a.identity), slog.Any("err", err))
		a.j.failed = true
		ctx.Stop(ctx.Self())
		return false
	}
	a.key = key
	aad := JournalID(KindDocSession, a.identity)
	open := func(b []byte) ([]byte, error) { return key.Open(b, aad) }
	empty := func() *state.DocSession { return state.NewDocSession().WithOpener(open) }
	restore := func(data []byte) (*state.DocSession, error) {
		snap := &opsyncpb.DocSessionSnapshot{}
		if err := proto.Unmarshal(data, snap); err != nil {
			return nil, err
		}
		if len(snap.Sealed) == 0 {
			// Stored in clear before encryption: a DocSessionState.
			clear := &opsyncpb.DocSessionState{}
			if err := proto.Unmarshal(data, clear); err != nil {
				return nil, err
			}
			return state.RestoreDocSession(clear).WithOpener(open), nil
		}
		plain, err := open(snap.Sealed)
		if err != nil {
			return nil, err
		}
		sealed := &opsyncpb.DocSessionSealed{}
		if err := proto.Unmarshal(plain, sealed); err != nil {
			return nil, err
		}
		return state.RestoreSealedDocSession(sealed).WithOpener(open), nil
	}
	if a.j.recover(ctx, m, empty, restore) != nil {
		ctx.Stop(ctx.Self())
		return false
	}
	return true
}

// sealEvent is a session event as it is journaled.
func (a *docSessionActor) sealEvent(now int64, e *opsyncpb.DocSessionEvent) (*opsyncpb.Event, error) {
	if a.key == nil {
		return nil, errors.New("the document session has no environment key to seal with")
	}
	b, err := a.key.SealMessage(e, JournalID(KindDocSession, a.identity))
	if err != nil {
		return nil, err
	}
	return &opsyncpb.Event{Time: now, Kind: &opsyncpb.Event_DocSessionSealed{DocSessionSealed: b}}, nil
}

// sealedSnapshot is the state's snapshot, sealed.
func (a *docSessionActor) sealedSnapshot(s *state.DocSession) proto.Message {
	if a.key == nil {
		return &opsyncpb.DocSessionSnapshot{LastSeq: s.LastSeq()}
	}
	b, err := a.key.SealMessage(s.SealedState(), JournalID(KindDocSession, a.identity))
	if err != nil {
		return &opsyncpb.DocSessionSnapshot{LastSeq: s.LastSeq()} // cannot happen: the state was decoded
	}
	return &opsyncpb.DocSessionSnapshot{LastSeq: s.LastSeq(), Sealed: b}
}
