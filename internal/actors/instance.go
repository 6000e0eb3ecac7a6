package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

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
	// ConfigConflict refuses a change the bizType's history forbids (a
	// new target, scope or persistence: biztype_shape.go).
	ConfigConflict = "CONFLICT"
)

// InstanceKind is the cluster kind of instances (tenants), which own the
// bizType configs.
func InstanceKind(d *Deps) *cluster.Kind {
	deps := d.withDefaults()
	return cluster.NewKind(KindInstance, actor.PropsFromProducer(func() actor.Actor { return newInstanceActor(deps) }))
}

func newInstanceActor(deps *Deps) *instanceActor {
	return &instanceActor{deps: deps, j: newJournaled(deps, KindInstance, func(s *state.Instance) proto.Message { return s.Snapshot() })}
}

// instanceActor owns one instance: configs, credentials, settings and the
// operation log. Reads (a push's key and config, a client's token) are
// answered at once from the state, also while a change is being written;
// changes are written one command at a time (a command waiting for the one
// before it sees its effect).
type instanceActor struct {
	j        *journaled[*state.Instance]
	deps     *Deps
	identity string
	state    *state.Instance
	stash    []stashed // changes that arrived while one was being written
}

// stashed is a change waiting for the one being written.
type stashed struct {
	msg    any
	sender *actor.PID
}

func (a *instanceActor) Receive(ctx actor.Context) {
	if a.j.receive(ctx) {
		a.unstash(ctx)
		return
	}
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		a.identity = m.Identity.Identity
		err := a.j.recover(ctx, m, state.NewInstance, restoreWith(func() *opsyncpb.InstanceSnapshot { return &opsyncpb.InstanceSnapshot{} }, state.RestoreInstance))
		a.state = a.j.state
		if err != nil {
			ctx.Stop(ctx.Self())
			return
		}
		a.migrateKeys()
		ctx.SetReceiveTimeout(a.deps.PassivateAfter)
	case *opsyncpb.GetBizType:
		c, ok := a.state.Config(m.BizType)
		ctx.Respond(&opsyncpb.BizTypeAnswer{InstanceExists: a.state.Exists(), Found: ok, Config: c})
	case *opsyncpb.ListBizTypes:
		now := a.deps.now().UnixMilli()
		ctx.Respond(&opsyncpb.BizTypeList{InstanceExists: a.state.Exists(), Configs: a.state.Configs(),
			Deleted: a.state.Deleted(now), PurgedBefore: a.state.PurgedBefore(now), Version: a.j.highest})
	case *opsyncpb.GetInstance:
		ctx.Respond(a.onGetInstance())
	case *opsyncpb.QueryOperations:
		rows, truncated := a.state.Operations(m)
		ctx.Respond(&opsyncpb.OperationList{InstanceExists: a.state.Exists(), Operations: rows, Truncated: truncated})
	case *opsyncpb.AuthorizePush:
		ctx.Respond(a.onAuthorizePush(m))
	case *opsyncpb.GetPushContext:
		ctx.Respond(a.onGetPushContext())
	case *opsyncpb.AuthorizeClient:
		ctx.Respond(a.onAuthorizeClient(m))
	case *opsyncpb.GetCardCallback:
		ctx.Respond(a.onGetCardCallback(m))
	case *opsyncpb.PutBizType, *opsyncpb.DeleteBizType, *opsyncpb.SetBizTypeOnline, *opsyncpb.CreateInstance,
		*opsyncpb.RotateInstanceKeys, *opsyncpb.ChangeInstanceSettings, *opsyncpb.RecordOperation,
		*opsyncpb.RegisterCardCallback, *opsyncpb.EnsureCardBizType:
		a.stash = append(a.stash, stashed{msg: m, sender: ctx.Sender()})
		a.unstash(ctx)
	case *actor.ReceiveTimeout:
		if a.j.idle() && len(a.stash) == 0 {
			ctx.Stop(ctx.Self())
		}
	}
}

// unstash handles the waiting changes, in order, while no change is being
// written.
func (a *instanceActor) unstash(ctx actor.Context) {
	for len(a.stash) > 0 && !a.j.busy() {
		s := a.stash[0]
		a.stash = a.stash[1:]
		var res proto.Message
		switch m := s.msg.(type) {
		case *opsyncpb.PutBizType:
			res = a.onPut(ctx, s.sender, m)
		case *opsyncpb.DeleteBizType:
			res = a.onDelete(ctx, s.sender, m)
		case *opsyncpb.SetBizTypeOnline:
			res = a.onSetOnline(ctx, s.sender, m)
		case *opsyncpb.CreateInstance:
			res = a.onCreate(ctx, s.sender, m)
		case *opsyncpb.RotateInstanceKeys:
			res = a.onRotate(ctx, s.sender, m)
		case *opsyncpb.ChangeInstanceSettings:
			res = a.onSettings(ctx, s.sender, m)
		case *opsyncpb.RecordOperation:
			res = a.onRecord(ctx, s.sender, m)
		case *opsyncpb.RegisterCardCallback:
			res = a.onRegisterCardCallback(ctx, s.sender, m)
		case *opsyncpb.EnsureCardBizType:
			res = a.onEnsureCardBizType(ctx, s.sender)
		}
		if res != nil {
			sendTo(ctx, s.sender, res)
		}
	}
}

// onPut creates or replaces a config of an existing instance (instances
// are created by an administrator: CreateInstance), logging the creation
// with the config's fields or the modification with what changed.
func (a *instanceActor) onPut(ctx actor.Context, sender *actor.PID, m *opsyncpb.PutBizType) proto.Message {
	if !a.state.Exists() {
		return &opsyncpb.ConfigResult{Code: ConfigInstanceNotFound, Message: "no such instance"}
	}
	if res := reservedBizType(m.GetConfig().GetBizType()); res != nil {
		return res
	}
	now := a.deps.now().UnixMilli()
	existing, _ := a.state.Config(m.GetConfig().GetBizType())
	cfg, err := normalizeConfig(m.GetConfig(), existing, now)
	if err != nil {
		return &opsyncpb.ConfigResult{Code: ConfigInvalid, Message: err.Error()}
	}
	if err := checkShape(a.state.Shape(cfg.BizType), cfg); err != nil {
		return &opsyncpb.ConfigResult{Code: ConfigConflict, Message: err.Error()}
	}
	op := &opsyncpb.Operation{Time: now, Operator: operatorOf(m.Operator), Action: state.ActionCreateConfig, Target: cfg.BizType, Details: state.ConfigFields(cfg)}
	if existing != nil {
		op.Action, op.Details, op.Changes = state.ActionModifyConfig, map[string]string{"bizType": cfg.BizType}, state.ConfigChanges(existing, cfg)
	}
	evs := []*opsyncpb.Event{
		{Time: now, Kind: &opsyncpb.Event_BizTypePut{BizTypePut: &opsyncpb.BizTypePut{Config: cfg}}},
		opEvent(op),
	}
	return a.persist(ctx, sender, evs, configFailure, func() proto.Message { return &opsyncpb.ConfigResult{Code: ConfigOK, Config: cfg} })
}

func (a *instanceActor) onDelete(ctx actor.Context, sender *actor.PID, m *opsyncpb.DeleteBizType) proto.Message {
	if res := a.lookup(m.BizType); res != nil {
		return res
	}
	now := a.deps.now().UnixMilli()
	old, _ := a.state.Config(m.BizType)
	evs := []*opsyncpb.Event{
		{Time: now, Kind: &opsyncpb.Event_BizTypeDeleted{BizTypeDeleted: &opsyncpb.BizTypeDeleted{BizType: m.BizType, PurgeAt: now + a.deps.DeleteGrace.Milliseconds()}}},
		opEvent(&opsyncpb.Operation{Time: now, Operator: operatorOf(m.Operator), Action: state.ActionDeleteConfig, Target: m.BizType, Details: state.ConfigFields(old)}),
	}
	return a.persist(ctx, sender, evs, configFailure, func() proto.Message { return &opsyncpb.ConfigResult{Code: ConfigOK} })
}

func (a *instanceActor) onSetOnline(ctx actor.Context, sender *actor.PID, m *opsyncpb.SetBizTypeOnline) proto.Message {
	if res := a.lookup(m.BizType); res != nil {
		return res
	}
	now := a.deps.now().UnixMilli()
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
	return a.persist(ctx, sender, evs, configFailure, func() proto.Message {
		c, _ := a.state.Config(m.BizType)
		return &opsyncpb.ConfigResult{Code: ConfigOK, Config: c}
	})
}

// lookup answers the error result for a bizType that cannot be changed.
func (a *instanceActor) lookup(bizType string) proto.Message {
	if !a.state.Exists() {
		return &opsyncpb.ConfigResult{Code: ConfigInstanceNotFound, Message: "no such instance"}
	}
	if res := reservedBizType(bizType); res != nil {
		return res
	}
	if _, ok := a.state.Config(bizType); !ok {
		return &opsyncpb.ConfigResult{Code: ConfigNotFound, Message: "no such bizType"}
	}
	return nil
}

// persist writes evs, one command's events, in one append; once they are
// durable and applied the sender gets ok(), or failed(err). It answers nil:
// the answer comes later.
func (a *instanceActor) persist(ctx actor.Context, sender *actor.PID, evs []*opsyncpb.Event, failed func(error) proto.Message, ok func() proto.Message) proto.Message {
	for i, ev := range evs {
		p := &pending{ev: ev}
		if i == len(evs)-1 {
			p.done = func(ctx actor.Context, _ uint64, err error) {
				if err != nil {
					sendTo(ctx, sender, failed(err))
					return
				}
				a.announceChange(evs)
				sendTo(ctx, sender, ok())
			}
		}
		a.j.persist(ctx, p)
	}
	a.j.flush()
	return nil
}

// configFailure answers a config command that could not be persisted.
func configFailure(err error) proto.Message {
	return &opsyncpb.ConfigResult{Code: ConfigSystemError, Message: err.Error()}
}
