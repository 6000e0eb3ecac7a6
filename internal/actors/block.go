package actors

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"regexp"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// KindBlock is the cluster kind of block entities; StateKindBlock the
// kind clients open them by (Open.kind).
const (
	KindBlock      = "block"
	StateKindBlock = "block"
)

// Block answers' codes (EntityAnswer.code, TypedMessageSent.code).
const (
	BlockNotFound        = "NOT_FOUND"
	BlockVersionConflict = "VERSION_CONFLICT"
	BlockSystemError     = "SYSTEM_ERROR"
)

// BlockIdentity is the cluster identity of a block of an instance.
func BlockIdentity(instanceID, blockID string) string { return instanceID + "/b/" + blockID }

// blockIDPattern is the form of a block id: what opsync generates
// ("blk_" and 26 base32 characters), and ids of the same alphabet a
// client may name.
var blockIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidBlockID reports whether id can name a block.
func ValidBlockID(id string) bool { return blockIDPattern.MatchString(id) }

var blockIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewBlockID is the id of a block created without a business id: 130
// random bits.
func NewBlockID() string {
	var b [17]byte
	_, _ = rand.Read(b[:])
	return "blk_" + blockIDEncoding.EncodeToString(b[:])[:26]
}

// BusinessBlockID is the id of the block bound to a business id of an
// instance: derived from both, so that the binding needs no index of its
// own. A second create with the same business id reaches the same actor
// (which answers the block it has), and a look-up by business id is a
// look-up by id.
func BusinessBlockID(instanceID, businessID string) string {
	h := sha256.Sum256([]byte(instanceID + "\x00" + businessID))
	return "blk_" + blockIDEncoding.EncodeToString(h[:17])[:26]
}

func init() {
	RegisterStateKind(StateKind{Name: StateKindBlock, ClusterKind: KindBlock, Identity: BlockIdentity, ValidID: ValidBlockID})
}

// BlockKind is the cluster kind of block entities.
func BlockKind(d *Deps) *cluster.Kind {
	deps := d.withDefaults()
	return cluster.NewKind(KindBlock, actor.PropsFromProducer(func() actor.Actor { return newBlockActor(deps) }))
}

func newBlockActor(deps *Deps) *blockActor {
	return &blockActor{j: newJournaled(deps, KindBlock, func(s *state.Block) proto.Message { return s.Snapshot() })}
}

// blockActor is one block entity: its journal holds the entity's
// versions; it keeps the connections that have the block open (its
// viewers, by client actor) and sends them each new version, and typed
// messages to those of chosen users, through the hub of each viewer's
// node: one message per node, one encoding per node.
type blockActor struct {
	j        *journaled[*state.Block]
	identity string
	viewers  map[string]*blockViewer // by client actor address + "/" + id
	// latest is the newest version accepted: journaled, or queued to be
	// (a deletion's tombstone too). An update must be above it, so that
	// versions are journaled, and so sent, in increasing order whatever the
	// order of racing callers.
	latest   *opsyncpb.BlockEntity
	creating []*actor.PID // callers of the create being written
}

// blockViewer is a client actor that has the block open.
type blockViewer struct {
	pid  *actor.PID
	user string
}

func (a *blockActor) Receive(ctx actor.Context) {
	if a.j.receive(ctx) {
		return
	}
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		a.identity = m.Identity.Identity
		a.viewers = map[string]*blockViewer{}
		if a.j.recover(ctx, m, state.NewBlock, restoreWith(func() *opsyncpb.BlockSnapshot { return &opsyncpb.BlockSnapshot{} }, state.RestoreBlock)) != nil {
			ctx.Stop(ctx.Self())
			return
		}
		a.latest = a.j.state.Entity()
		if a.j.state.Deleted() {
			// A crash may have come between the deletion and the end of
			// the journal's removal: finish it (it is idempotent).
			a.j.removeJournal(a.latest.BusinessId != "")
		}
		ctx.SetReceiveTimeout(a.j.deps.PassivateAfter)
	case *opsyncpb.CreateEntity:
		a.onCreate(ctx, m)
	case *opsyncpb.UpdateEntity:
		a.onUpdate(ctx, m)
	case *opsyncpb.GetEntity:
		a.onGet(ctx)
	case *opsyncpb.DeleteEntity:
		a.onDelete(ctx)
	case *opsyncpb.SendTypedMessage:
		a.onTyped(ctx, m)
	case *opsyncpb.StateSubscribe:
		a.onSubscribe(ctx, m)
	case *opsyncpb.StateUnsubscribe:
		a.dropViewer(ctx, actor.NewPID(m.ClientAddress, m.ClientId))
	case *actor.Terminated:
		a.dropViewer(ctx, m.Who)
	case *actor.ReceiveTimeout:
		if len(a.viewers) == 0 && a.j.idle() {
			ctx.Stop(ctx.Self())
		}
	case *actor.Stopping:
		metrics.BlockViewers.Sub(float64(len(a.viewers)))
		a.viewers = nil
	}
}

// exists reports whether the block is created, or its creation is being
// written, and no deletion is (an update then queues behind the one,
// and is refused after the other).
func (a *blockActor) exists() bool { return a.latest != nil && !a.latest.Deleted }

func (a *blockActor) onCreate(ctx actor.Context, m *opsyncpb.CreateEntity) {
	if len(a.creating) > 0 {
		a.creating = append(a.creating, ctx.Sender()) // one create is written; its answer goes to all
		return
	}
	if a.exists() {
		respond(ctx, a.answer(false))
		return
	}
	e := proto.Clone(m.Entity).(*opsyncpb.BlockEntity)
	now := a.j.deps.now().UnixMilli()
	e.CreatedAt, e.UpdatedAt = now, now
	// Created again after a deletion (a business id's block): above the
	// tombstone, so that no viewer ever goes back.
	floor := a.latest.GetVersion()
	switch {
	case e.Version == 0:
		e.Version = floor + 1
	case e.Version <= floor:
		respond(ctx, &opsyncpb.EntityAnswer{Code: BlockVersionConflict, Entity: &opsyncpb.BlockEntity{BlockId: a.latest.BlockId, Version: floor},
			Detail: "the block was deleted at this version: created again, it must be greater"})
		return
	}
	a.creating = []*actor.PID{ctx.Sender()}
	a.latest = e
	ev := &opsyncpb.Event{Time: now, Kind: &opsyncpb.Event_EntityCreated{EntityCreated: &opsyncpb.EntityCreated{Entity: e}}}
	a.j.persist(ctx, &pending{ev: ev, done: func(ctx actor.Context, _ uint64, err error) {
		for i, pid := range a.creating {
			if err != nil {
				sendTo(ctx, pid, &opsyncpb.EntityAnswer{Code: BlockSystemError, Detail: err.Error()})
				continue
			}
			sendTo(ctx, pid, a.answer(i == 0))
		}
		a.creating = nil
		if err == nil {
			metrics.BlockUpdates.Inc()
			a.publish(ctx, a.j.state.Entity(), a.viewers)
		}
	}})
	a.j.flush()
}

func (a *blockActor) onUpdate(ctx actor.Context, m *opsyncpb.UpdateEntity) {
	if !a.exists() {
		respond(ctx, a.notFound())
		return
	}
	prev := a.latest
	switch v := m.Entity.GetVersion(); {
	case v != 0 && v <= prev.Version:
		respond(ctx, &opsyncpb.EntityAnswer{Code: BlockVersionConflict, Entity: &opsyncpb.BlockEntity{BlockId: prev.BlockId, Version: prev.Version},
			Detail: "version must be greater than the block's current version"})
		return
	}
	now := a.j.deps.now().UnixMilli()
	e := updated(prev, m.Entity, now)
	a.latest = e
	sender := ctx.Sender()
	ev := &opsyncpb.Event{Time: now, Kind: &opsyncpb.Event_EntityUpdated{EntityUpdated: &opsyncpb.EntityUpdated{Entity: e}}}
	a.j.persist(ctx, &pending{ev: ev, done: func(ctx actor.Context, _ uint64, err error) {
		if err != nil {
			sendTo(ctx, sender, &opsyncpb.EntityAnswer{Code: BlockSystemError, Detail: err.Error()})
			return
		}
		metrics.BlockUpdates.Inc()
		sendTo(ctx, sender, a.answer(false))
		a.publish(ctx, a.j.state.Entity(), a.viewers)
	}})
	a.j.flush()
}

// updated is the version an update makes of prev: the fields it sends
// (an empty one keeps its value, as the service's SDK sends only those
// it has), its version or the next one, the same id, business id and
// creation time.
func updated(prev, u *opsyncpb.BlockEntity, now int64) *opsyncpb.BlockEntity {
	e := proto.Clone(prev).(*opsyncpb.BlockEntity)
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&e.Title, u.Title}, {&e.BlockTypeId, u.BlockTypeId}, {&e.SourceData, u.SourceData}, {&e.SourceMeta, u.SourceMeta},
		{&e.SourceLink, u.SourceLink}, {&e.Owner, u.Owner}, {&e.Extra, u.Extra}, {&e.Summary, u.Summary},
		{&e.Preview, u.Preview}, {&e.I18NSummary, u.I18NSummary}, {&e.I18NPreview, u.I18NPreview},
	} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	e.Version = u.Version
	if e.Version == 0 {
		e.Version = prev.Version + 1
	}
	e.UpdatedAt = now
	return e
}

func (a *blockActor) onGet(ctx actor.Context) {
	if !a.j.state.Exists() {
		respond(ctx, a.notFound())
		return
	}
	res := a.answer(false)
	res.ViewersByNode = map[string]uint32{}
	for _, v := range a.viewers {
		res.ViewersByNode[v.pid.Address]++
	}
	respond(ctx, res)
}

// notFound answers a request for a block that does not exist (any more).
func (a *blockActor) notFound() *opsyncpb.EntityAnswer {
	if a.j.state.Deleted() {
		return &opsyncpb.EntityAnswer{Code: BlockNotFound, Detail: "block " + a.blockID() + " was deleted"}
	}
	return &opsyncpb.EntityAnswer{Code: BlockNotFound, Detail: "no block " + a.blockID()}
}

// answer is the block as it is now.
func (a *blockActor) answer(created bool) *opsyncpb.EntityAnswer {
	return &opsyncpb.EntityAnswer{Entity: a.j.state.Entity(), Created: created, Viewers: uint32(len(a.viewers))}
}

// blockID is the block's id (the identity after its instance).
func (a *blockActor) blockID() string {
	_, id, _ := strings.Cut(a.identity, "/b/")
	return id
}
