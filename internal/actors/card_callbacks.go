package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// The instance's side of cards: its callback registrations (route key →
// URL and apiSecret, the secret sealed with the node set's master key
// like the client secret) and the reserved bizType cards are delivered
// through.

// CardBizType is the reserved bizType of card deliveries: a user-target,
// single-scope, persistent, multi-device bizType the card service creates
// on an instance's first delivery. `config put` refuses it.
const CardBizType = "OPSYNC_CARD"

// MaxCardCallbacks bounds an instance's callback registrations.
const MaxCardCallbacks = 1000

// cardSecretPurpose is what a callback's apiSecret is sealed for: the
// instance and route key, so that a sealed secret copied elsewhere does
// not open.
func cardSecretPurpose(instanceID, routeKey string) string {
	return "card-callback-secret:" + instanceID + "/" + routeKey
}

// cardBizTypeConfig is the config of the reserved bizType.
func cardBizTypeConfig() *opsyncpb.BizTypeConfig {
	return &opsyncpb.BizTypeConfig{BizType: CardBizType, Description: "card deliveries (reserved)", Scope: opsyncpb.Scope_SCOPE_SPECIFIED,
		Target: opsyncpb.Target_TARGET_USER, MultiDevice: true, Persistent: true, RetentionDays: 30}
}

// reservedBizType refuses a config change of the reserved bizType.
func reservedBizType(bizType string) proto.Message {
	if bizType == CardBizType {
		return &opsyncpb.ConfigResult{Code: ConfigInvalid, Message: fmt.Sprintf("bizType %s is reserved for card deliveries", CardBizType)}
	}
	return nil
}

// onEnsureCardBizType creates the reserved bizType unless it exists.
func (a *instanceActor) onEnsureCardBizType(ctx actor.Context, sender *actor.PID) proto.Message {
	if !a.state.Exists() {
		return &opsyncpb.ConfigResult{Code: ConfigInstanceNotFound, Message: "no such instance"}
	}
	if c, ok := a.state.Config(CardBizType); ok {
		return &opsyncpb.ConfigResult{Code: ConfigOK, Config: c}
	}
	now := a.deps.now().UnixMilli()
	cfg, err := normalizeConfig(cardBizTypeConfig(), nil, now)
	if err != nil {
		return &opsyncpb.ConfigResult{Code: ConfigSystemError, Message: err.Error()}
	}
	evs := []*opsyncpb.Event{
		{Time: now, Kind: &opsyncpb.Event_BizTypePut{BizTypePut: &opsyncpb.BizTypePut{Config: cfg}}},
		opEvent(&opsyncpb.Operation{Time: now, Operator: "card service", Action: state.ActionCreateConfig, Target: cfg.BizType, Details: state.ConfigFields(cfg)}),
	}
	return a.persist(ctx, sender, evs, configFailure, func() proto.Message { return &opsyncpb.ConfigResult{Code: ConfigOK, Config: cfg} })
}

// onRegisterCardCallback stores a registration; an existing one is
// replaced only with force_update. The URL was checked by the card
// service (its rule depends on the node's flags).
func (a *instanceActor) onRegisterCardCallback(ctx actor.Context, sender *actor.PID, m *opsyncpb.RegisterCardCallback) proto.Message {
	if !a.state.Exists() {
		return &opsyncpb.CardCallbackResult{Code: ConfigInstanceNotFound, Detail: "no such instance"}
	}
	_, exists := a.state.CardCallback(m.RouteKey)
	switch {
	case exists && !m.ForceUpdate:
		return &opsyncpb.CardCallbackResult{Code: CardAlreadyExists, Detail: "callbackRouteKey " + m.RouteKey + " is registered: send forceUpdate to replace it"}
	case !exists && a.state.CardCallbacks() >= MaxCardCallbacks:
		return &opsyncpb.CardCallbackResult{Code: ConfigInvalid, Detail: fmt.Sprintf("an instance has at most %d callback route keys", MaxCardCallbacks)}
	case a.deps.MasterKey == nil:
		return &opsyncpb.CardCallbackResult{Code: CardSystemError, Detail: "this node has no master key to seal the apiSecret with"}
	}
	now := a.deps.now().UnixMilli()
	cb := &opsyncpb.CardCallback{RouteKey: m.RouteKey, Url: m.Url, UpdatedAt: now,
		ApiSecretSealed: a.deps.MasterKey.Seal([]byte(m.ApiSecret), cardSecretPurpose(a.identity, m.RouteKey))}
	evs := []*opsyncpb.Event{{Time: now, Kind: &opsyncpb.Event_CardCallbackRegistered{CardCallbackRegistered: &opsyncpb.CardCallbackRegistered{Callback: cb}}}}
	failed := func(err error) proto.Message {
		return &opsyncpb.CardCallbackResult{Code: CardSystemError, Detail: err.Error()}
	}
	return a.persist(ctx, sender, evs, failed, func() proto.Message {
		return &opsyncpb.CardCallbackResult{Url: m.Url, ApiSecret: m.ApiSecret}
	})
}

// onGetCardCallback answers a registration with its apiSecret opened
// (the edge signs the pulls of dynamic data with it).
func (a *instanceActor) onGetCardCallback(m *opsyncpb.GetCardCallback) *opsyncpb.CardCallbackResult {
	if !a.state.Exists() {
		return &opsyncpb.CardCallbackResult{Code: ConfigInstanceNotFound, Detail: "no such instance"}
	}
	cb, ok := a.state.CardCallback(m.RouteKey)
	if !ok {
		return &opsyncpb.CardCallbackResult{Code: CardNotFound, Detail: "no callback is registered for callbackRouteKey " + m.RouteKey}
	}
	if a.deps.MasterKey == nil {
		return &opsyncpb.CardCallbackResult{Code: CardSystemError, Detail: "this node has no master key to open the apiSecret with"}
	}
	secret, err := a.deps.MasterKey.Open(cb.ApiSecretSealed, cardSecretPurpose(a.identity, m.RouteKey))
	if err != nil {
		a.j.log.Error("a card callback's apiSecret does not open with this node's master key")
		return &opsyncpb.CardCallbackResult{Code: CardSystemError, Detail: "the apiSecret could not be opened"}
	}
	return &opsyncpb.CardCallbackResult{Url: cb.Url, ApiSecret: string(secret)}
}
