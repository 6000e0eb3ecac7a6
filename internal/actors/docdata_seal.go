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

// A document's permanent data is journaled sealed with its environment's
// data key: every event (Event.doc_data_sealed) and every snapshot
// (DocDataSnapshot.sealed), for the journal's id, so that sealed bytes
// copied to another document do not open there. The key is taken at
// activation; an environment deleted meanwhile leaves the actor without
// data (every command answers NOT_FOUND).

// activate takes the environment's key and recovers the state with it;
// false when the actor stopped.
func (a *docDataActor) activate(ctx actor.Context, m *cluster.ClusterInit) bool {
	env, _, _ := cutDocIdentity(a.identity)
	key, err := envKeysOf(a.j.deps).EnvKey(env)
	switch {
	case errors.Is(err, ErrEnvDeleted):
		a.gone = true
		a.j.state = state.NewDocData()
		// Deleting the environment removes its data: what this journal
		// holds goes (no key opens it any more anyway).
		a.j.purge(ctx, m)
		ctx.SetReceiveTimeout(a.j.deps.PassivateAfter)
		return true
	case err != nil:
		a.j.deps.Logger.Error("document actor: no environment key", slog.String("document", a.identity), slog.Any("err", err))
		a.j.failed = true
		ctx.Stop(ctx.Self())
		return false
	}
	a.key = key
	aad := JournalID(KindDocData, a.identity)
	open := func(b []byte) ([]byte, error) { return key.Open(b, aad) }
	empty := func() *state.DocData { return state.NewDocData().WithOpener(open) }
	restore := func(data []byte) (*state.DocData, error) {
		snap := &opsyncpb.DocDataSnapshot{}
		if err := proto.Unmarshal(data, snap); err != nil {
			return nil, err
		}
		if len(snap.Sealed) > 0 {
			plain, err := open(snap.Sealed)
			if err != nil {
				return nil, err
			}
			recs := &opsyncpb.DocDataRecords{}
			if err := proto.Unmarshal(plain, recs); err != nil {
				return nil, err
			}
			snap.Records, snap.Unhooked = recs.Records, recs.Unhooked
		}
		return state.RestoreDocData(snap).WithOpener(open), nil
	}
	if a.j.recover(ctx, m, empty, restore) != nil {
		ctx.Stop(ctx.Self())
		return false
	}
	ctx.SetReceiveTimeout(a.j.deps.PassivateAfter)
	// Hooks of changes a crash left before the outbox had them go now,
	// before any new change.
	a.flushHooks(ctx)
	return true
}

// seal is the event as it is journaled.
func (a *docDataActor) seal(ev *opsyncpb.DocDataEvent) (*opsyncpb.Event_DocDataSealed, error) {
	if a.key == nil {
		return nil, errors.New("the document has no environment key to seal with")
	}
	b, err := a.key.SealMessage(ev, JournalID(KindDocData, a.identity))
	if err != nil {
		return nil, err
	}
	return &opsyncpb.Event_DocDataSealed{DocDataSealed: b}, nil
}

// sealedSnapshot is the state's snapshot with its records sealed.
func (a *docDataActor) sealedSnapshot(s *state.DocData) proto.Message {
	snap := s.Snapshot()
	if a.key == nil {
		return &opsyncpb.DocDataSnapshot{LastSeq: snap.LastSeq}
	}
	b, err := a.key.SealMessage(&opsyncpb.DocDataRecords{Records: snap.Records, Unhooked: snap.Unhooked}, JournalID(KindDocData, a.identity))
	if err != nil {
		return &opsyncpb.DocDataSnapshot{LastSeq: snap.LastSeq} // cannot happen: the records were decoded
	}
	return &opsyncpb.DocDataSnapshot{LastSeq: snap.LastSeq, Sealed: b}
}
