package actors

import (
	"context"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Config result codes (ConfigResult.code).
const (
	ConfigOK               = "OK"
	ConfigNotFound         = "NOT_FOUND"
	ConfigInstanceNotFound = "INSTANCE_NOT_FOUND"
	ConfigInvalid          = "INVALID"
	ConfigSystemError      = "SYSTEM_ERROR"
)

// InstanceKind is the cluster kind of instances (tenants), which own the
// bizType configs.
func InstanceKind(d *Deps) *cluster.Kind {
	deps := d.withDefaults()
	return cluster.NewKind(KindInstance, actor.PropsFromProducer(func() actor.Actor {
		return &instanceActor{deps: deps}
	}))
}

// instanceActor owns one instance's configs. Config changes are rare, so it
// writes each command's events synchronously.
type instanceActor struct {
	deps      *Deps
	identity  string
	journal   string
	state     *state.Instance
	highest   uint64
	failed    bool
	sinceSnap int
}

func (a *instanceActor) Receive(ctx actor.Context) {
	// A failed actor (recovery or a journal write failed, e.g. without a
	// raft majority, or a second activation appended first) answers what
	// it is handling and stops: the next request activates it anew from
	// the journal instead of meeting a broken actor until passivation.
	defer func() {
		if a.failed {
			ctx.Stop(ctx.Self())
		}
	}()
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		a.recover(ctx, m)
	case *opsyncpb.GetBizType:
		c, ok := a.state.Config(m.BizType)
		ctx.Respond(&opsyncpb.BizTypeAnswer{InstanceExists: a.state.Exists(), Found: ok, Config: c})
	case *opsyncpb.ListBizTypes:
		ctx.Respond(&opsyncpb.BizTypeList{InstanceExists: a.state.Exists(), Configs: a.state.Configs()})
	case *opsyncpb.PutBizType:
		ctx.Respond(a.onPut(m))
	case *opsyncpb.DeleteBizType:
		ctx.Respond(a.onDelete(m))
	case *opsyncpb.SetBizTypeOnline:
		ctx.Respond(a.onSetOnline(m))
	case *opsyncpb.CreateInstance:
		ctx.Respond(a.onCreate(m))
	case *opsyncpb.GetInstance:
		ctx.Respond(a.onGetInstance())
	case *opsyncpb.RotateInstanceKeys:
		ctx.Respond(a.onRotate(m))
	case *opsyncpb.ChangeInstanceSettings:
		ctx.Respond(a.onSettings(m))
	case *opsyncpb.RecordOperation:
		ctx.Respond(a.onRecord(m))
	case *opsyncpb.QueryOperations:
		rows, truncated := a.state.Operations(m)
		ctx.Respond(&opsyncpb.OperationList{InstanceExists: a.state.Exists(), Operations: rows, Truncated: truncated})
	case *opsyncpb.AuthorizePush:
		ctx.Respond(a.onAuthorizePush(m))
	case *opsyncpb.GetPushContext:
		ctx.Respond(a.onGetPushContext())
	case *opsyncpb.AuthorizeClient:
		ctx.Respond(a.onAuthorizeClient(m))
	case *actor.ReceiveTimeout:
		ctx.Stop(ctx.Self())
	}
}

func (a *instanceActor) recover(ctx actor.Context, init *cluster.ClusterInit) {
	a.identity = init.Identity.Identity
	a.journal = JournalID(KindInstance, a.identity)
	metrics.Activations.WithLabelValues(KindInstance).Inc()
	state, highest, err := recoverState(context.Background(), a.deps.Store, a.journal, state.NewInstance,
		func() *opsyncpb.InstanceSnapshot { return &opsyncpb.InstanceSnapshot{} }, state.RestoreInstance)
	a.state, a.highest = state, highest
	if err != nil {
		a.deps.Logger.Error("instance recovery failed", slog.String("instance", a.identity), slog.Any("err", err))
		a.failed = true
	}
	ctx.SetReceiveTimeout(a.deps.PassivateAfter)
}

// onPut creates or replaces a config of an existing instance (instances
// are created by an administrator: CreateInstance), logging the creation
// with the config's fields or the modification with what changed.
func (a *instanceActor) onPut(m *opsyncpb.PutBizType) *opsyncpb.ConfigResult {
	if !a.state.Exists() {
		return &opsyncpb.ConfigResult{Code: ConfigInstanceNotFound, Message: "no such instance"}
	}
	now := a.deps.Now().UnixMilli()
	existing, _ := a.state.Config(m.GetConfig().GetBizType())
	cfg, err := normalizeConfig(m.GetConfig(), existing, now)
	if err != nil {
		return &opsyncpb.ConfigResult{Code: ConfigInvalid, Message: err.Error()}
	}
	op := &opsyncpb.Operation{Time: now, Operator: operatorOf(m.Operator), Action: state.ActionCreateConfig, Target: cfg.BizType, Details: state.ConfigFields(cfg)}
	if existing != nil {
		op.Action, op.Details, op.Changes = state.ActionModifyConfig, map[string]string{"bizType": cfg.BizType}, state.ConfigChanges(existing, cfg)
	}
	evs := []*opsyncpb.Event{
		{Time: now, Kind: &opsyncpb.Event_BizTypePut{BizTypePut: &opsyncpb.BizTypePut{Config: cfg}}},
		opEvent(op),
	}
	if err := a.persist(evs); err != nil {
		return configFailure(err)
	}
	return &opsyncpb.ConfigResult{Code: ConfigOK, Config: cfg}
}

func (a *instanceActor) onDelete(m *opsyncpb.DeleteBizType) *opsyncpb.ConfigResult {
	if res := a.lookup(m.BizType); res != nil {
		return res
	}
	now := a.deps.Now().UnixMilli()
	old, _ := a.state.Config(m.BizType)
	evs := []*opsyncpb.Event{
		{Time: now, Kind: &opsyncpb.Event_BizTypeDeleted{BizTypeDeleted: &opsyncpb.BizTypeDeleted{BizType: m.BizType}}},
		opEvent(&opsyncpb.Operation{Time: now, Operator: operatorOf(m.Operator), Action: state.ActionDeleteConfig, Target: m.BizType, Details: state.ConfigFields(old)}),
	}
	if err := a.persist(evs); err != nil {
		return configFailure(err)
	}
	return &opsyncpb.ConfigResult{Code: ConfigOK}
}

func (a *instanceActor) onSetOnline(m *opsyncpb.SetBizTypeOnline) *opsyncpb.ConfigResult {
	if res := a.lookup(m.BizType); res != nil {
		return res
	}
	now := a.deps.Now().UnixMilli()
	c, _ := a.state.Config(m.BizType)
	c.Online, c.UpdatedAt = m.Online, now
	action := state.ActionOfflineConfig
	if m.Online {
		action = state.ActionOnlineConfig
	}
	evs := []*opsyncpb.Event{
		{Time: now, Kind: &opsyncpb.Event_BizTypeOnlineChanged{BizTypeOnlineChanged: &opsyncpb.BizTypeOnlineChanged{BizType: m.BizType, Online: m.Online}}},
		opEvent(&opsyncpb.Operation{Time: now, Operator: operatorOf(m.Operator), Action: action, Target: m.BizType, Details: state.ConfigFields(c)}),
	}
	if err := a.persist(evs); err != nil {
		return configFailure(err)
	}
	c, _ = a.state.Config(m.BizType)
	return &opsyncpb.ConfigResult{Code: ConfigOK, Config: c}
}

// lookup answers the error result for a bizType that cannot be changed.
func (a *instanceActor) lookup(bizType string) *opsyncpb.ConfigResult {
	if !a.state.Exists() {
		return &opsyncpb.ConfigResult{Code: ConfigInstanceNotFound, Message: "no such instance"}
	}
	if _, ok := a.state.Config(bizType); !ok {
		return &opsyncpb.ConfigResult{Code: ConfigNotFound, Message: "no such bizType"}
	}
	return nil
}

// errPersist is a failure to store or apply events; the actor refuses
// every later change (a restart recovers it from its journal).
type errPersist struct{ msg string }

func (e *errPersist) Error() string { return e.msg }

// configFailure answers a config command that could not be persisted.
func configFailure(err error) *opsyncpb.ConfigResult {
	return &opsyncpb.ConfigResult{Code: ConfigSystemError, Message: err.Error()}
}

// persist appends evs durably (one append) and applies them.
func (a *instanceActor) persist(evs []*opsyncpb.Event) error {
	if a.failed {
		return &errPersist{"instance unavailable"}
	}
	data, err := marshalEvents(evs)
	if err == nil {
		err = a.deps.Store.Append(context.Background(), a.journal, a.highest+1, data)
	}
	if err != nil {
		a.deps.Logger.Error("instance append failed", slog.String("instance", a.identity), slog.Any("err", err))
		a.failed = true
		return &errPersist{"journal write failed"}
	}
	for i, ev := range evs {
		if err := a.state.Apply(a.highest+1+uint64(i), ev); err != nil {
			a.failed = true
			return &errPersist{err.Error()}
		}
	}
	a.highest += uint64(len(evs))
	a.announceChange(evs)
	a.sinceSnap += len(evs)
	if a.sinceSnap >= a.deps.SnapshotEvery {
		if err := saveSnapshot(context.Background(), a.deps.Store, a.journal, a.state.LastSeq(), a.state.Snapshot()); err != nil {
			a.deps.Logger.Warn("instance snapshot failed", slog.String("instance", a.identity), slog.Any("err", err))
		}
		a.sinceSnap = 0
	}
	return nil
}
