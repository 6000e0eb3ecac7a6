package actors

import (
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Instance result codes (InstanceResult.code) beyond the config ones.
const (
	InstanceAlreadyExists = "ALREADY_EXISTS"
)

// DefaultOperator is the operator of a change whose caller named none.
const DefaultOperator = "admin"

// maxValidationURLLen bounds an instance's validation endpoint URL.
const maxValidationURLLen = 2048

func operatorOf(s string) string {
	if s == "" {
		return DefaultOperator
	}
	return s
}

func opEvent(op *opsyncpb.Operation) *opsyncpb.Event {
	return &opsyncpb.Event{Time: op.Time, Kind: &opsyncpb.Event_OperationRecorded{OperationRecorded: &opsyncpb.OperationRecorded{Operation: op}}}
}

// info describes the instance to its administrator: the keys' prefixes,
// never the keys (they are not kept in clear).
func (a *instanceActor) info() *opsyncpb.InstanceInfo {
	keys, at := a.state.Keys()
	return &opsyncpb.InstanceInfo{InstanceId: a.identity, CreatedAt: a.state.CreatedAt(), ApiKeyPrefix: keys.ApiKeyPrefix, ClientSecretPrefix: keys.ClientSecretPrefix,
		KeysSetAt: at, Settings: a.state.Settings(), BizTypes: uint32(len(a.state.Configs()))}
}

// infoWith is info with the keys a command just made: the only answer
// that shows them.
func (a *instanceActor) infoWith(k clearKeys) *opsyncpb.InstanceInfo {
	in := a.info()
	in.ApiKey, in.ClientSecret = k.apiKey, k.clientSecret
	return in
}

func instanceFailure(err error) proto.Message {
	return &opsyncpb.InstanceResult{Code: ConfigSystemError, Message: err.Error()}
}

var instanceNotFound = &opsyncpb.InstanceResult{Code: ConfigInstanceNotFound, Message: "no such instance"}

// onCreate creates the instance with new random credentials.
func (a *instanceActor) onCreate(ctx actor.Context, sender *actor.PID, m *opsyncpb.CreateInstance) proto.Message {
	if a.state.Exists() {
		return &opsyncpb.InstanceResult{Code: InstanceAlreadyExists, Message: "instance exists"}
	}
	keys, clear, err := a.newKeys()
	if err != nil {
		return instanceFailure(err)
	}
	now := a.deps.now().UnixMilli()
	evs := []*opsyncpb.Event{
		{Time: now, Kind: &opsyncpb.Event_InstanceCreated{InstanceCreated: &opsyncpb.InstanceCreated{InstanceId: a.identity}}},
		{Time: now, Kind: &opsyncpb.Event_InstanceKeysSet{InstanceKeysSet: keys}},
		opEvent(&opsyncpb.Operation{Time: now, Operator: operatorOf(m.Operator), Action: state.ActionCreateInstance}),
	}
	return a.persist(ctx, sender, evs, instanceFailure, func() proto.Message { return &opsyncpb.InstanceResult{Code: ConfigOK, Instance: a.infoWith(clear)} })
}

func (a *instanceActor) onGetInstance() *opsyncpb.InstanceResult {
	if !a.state.Exists() {
		return instanceNotFound
	}
	return &opsyncpb.InstanceResult{Code: ConfigOK, Instance: a.info()}
}

// onRotate replaces both credentials; the old ones stop working at once.
// The log row names the rotation, never the keys.
func (a *instanceActor) onRotate(ctx actor.Context, sender *actor.PID, m *opsyncpb.RotateInstanceKeys) proto.Message {
	if !a.state.Exists() {
		return instanceNotFound
	}
	keys, clear, err := a.newKeys()
	if err != nil {
		return instanceFailure(err)
	}
	now := a.deps.now().UnixMilli()
	evs := []*opsyncpb.Event{
		{Time: now, Kind: &opsyncpb.Event_InstanceKeysSet{InstanceKeysSet: keys}},
		opEvent(&opsyncpb.Operation{Time: now, Operator: operatorOf(m.Operator), Action: state.ActionRotateKeys}),
	}
	return a.persist(ctx, sender, evs, instanceFailure, func() proto.Message { return &opsyncpb.InstanceResult{Code: ConfigOK, Instance: a.infoWith(clear)} })
}

// onSettings changes the settings m sets. A change of the signature switch
// is logged as SIGNATURE_ON / SIGNATURE_OFF, any other as MODIFY_SETTINGS
// with what changed; a request that changes nothing stores nothing.
func (a *instanceActor) onSettings(ctx actor.Context, sender *actor.PID, m *opsyncpb.ChangeInstanceSettings) proto.Message {
	if !a.state.Exists() {
		return instanceNotFound
	}
	if m.ValidationUrl != nil {
		if err := CheckValidationURL(m.GetValidationUrl()); err != nil {
			return &opsyncpb.InstanceResult{Code: ConfigInvalid, Message: err.Error()}
		}
	}
	old := a.state.Settings()
	cur := a.state.Settings()
	if m.RequireToken != nil {
		cur.RequireToken = m.GetRequireToken()
	}
	if m.ValidationUrl != nil {
		cur.ValidationUrl = m.GetValidationUrl()
	}
	if m.SignatureCheck != nil {
		cur.SignatureCheckOff = !m.GetSignatureCheck()
	}
	if err := applyPushSettings(cur, m); err != nil {
		return &opsyncpb.InstanceResult{Code: ConfigInvalid, Message: err.Error()}
	}
	if m.DeviceBinding != nil {
		cur.DeviceBinding = m.GetDeviceBinding()
	}
	now := a.deps.now().UnixMilli()
	operator := operatorOf(m.Operator)
	var ops []*opsyncpb.Operation
	if old.SignatureCheckOff != cur.SignatureCheckOff {
		action := state.ActionSignatureOn
		if cur.SignatureCheckOff {
			action = state.ActionSignatureOff
		}
		ops = append(ops, &opsyncpb.Operation{Time: now, Operator: operator, Action: action,
			Changes: map[string]*opsyncpb.FieldChange{"signatureCheck": {Old: onOff(!old.SignatureCheckOff), New: onOff(!cur.SignatureCheckOff)}}})
	}
	changes := map[string]*opsyncpb.FieldChange{}
	if old.RequireToken != cur.RequireToken {
		changes["requireToken"] = &opsyncpb.FieldChange{Old: fmt.Sprint(old.RequireToken), New: fmt.Sprint(cur.RequireToken)}
	}
	if old.ValidationUrl != cur.ValidationUrl {
		changes["validationUrl"] = &opsyncpb.FieldChange{Old: old.ValidationUrl, New: cur.ValidationUrl}
	}
	pushSettingsChanges(old, cur, changes)
	if old.DeviceBinding != cur.DeviceBinding {
		changes["deviceBinding"] = &opsyncpb.FieldChange{Old: DeviceBindingName(old.DeviceBinding), New: DeviceBindingName(cur.DeviceBinding)}
	}
	if len(changes) > 0 {
		ops = append(ops, &opsyncpb.Operation{Time: now, Operator: operator, Action: state.ActionModifySettings, Changes: changes})
	}
	if len(ops) == 0 {
		return &opsyncpb.InstanceResult{Code: ConfigOK, Instance: a.info()}
	}
	evs := []*opsyncpb.Event{{Time: now, Kind: &opsyncpb.Event_InstanceSettingsChanged{InstanceSettingsChanged: &opsyncpb.InstanceSettingsChanged{Settings: cur}}}}
	for _, op := range ops {
		evs = append(evs, opEvent(op))
	}
	return a.persist(ctx, sender, evs, instanceFailure, func() proto.Message { return &opsyncpb.InstanceResult{Code: ConfigOK, Instance: a.info()} })
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// onRecord appends the rows the edge made (pushes) to the log, in one
// append.
func (a *instanceActor) onRecord(ctx actor.Context, sender *actor.PID, m *opsyncpb.RecordOperation) proto.Message {
	if !a.state.Exists() {
		return instanceNotFound
	}
	ops := append([]*opsyncpb.Operation{m.GetOperation()}, m.GetMore()...)
	evs := make([]*opsyncpb.Event, len(ops))
	for i, op := range ops {
		if op == nil || op.Action == "" {
			return &opsyncpb.InstanceResult{Code: ConfigInvalid, Message: "operation missing"}
		}
		if op.Time == 0 {
			op.Time = a.deps.now().UnixMilli()
		}
		op.Operator = operatorOf(op.Operator)
		evs[i] = opEvent(op)
	}
	return a.persist(ctx, sender, evs, instanceFailure, func() proto.Message { return &opsyncpb.InstanceResult{Code: ConfigOK} })
}

// onAuthorizePush checks a push API key against the kept hash (constant
// time). An instance
// without a key (created before keys existed) refuses every push until
// its keys are rotated.
func (a *instanceActor) onAuthorizePush(m *opsyncpb.AuthorizePush) *opsyncpb.PushAuthorization {
	if !a.state.Exists() {
		return &opsyncpb.PushAuthorization{}
	}
	keys, _ := a.state.Keys()
	return &opsyncpb.PushAuthorization{InstanceExists: true, Authorized: auth.MatchesHash(m.ApiKey, keys.ApiKeyHash)}
}

// onAuthorizeClient checks a connecting client. A token (Connect.token,
// or the sessionId when the instance requires tokens and the client sent
// none) must be an HS256 JWT signed with the instance's client secret whose
// sub is the userId (none for a device-only connection), iid the instance
// and, when it has one, did the device id. Without a token the userId is
// trusted, as in the source, unless the instance requires tokens. The
// answer says what the connection may not read (client_access.go) and
// carries the validation endpoint to ask when the user-consistency check
// applies: an endpoint is set, the signature switch is on, and some
// bizType has the check on.
func (a *instanceActor) onAuthorizeClient(m *opsyncpb.AuthorizeClient) *opsyncpb.ClientAuthorization {
	if !a.state.Exists() {
		return &opsyncpb.ClientAuthorization{}
	}
	settings := a.state.Settings()
	token := m.Token
	if token == "" && settings.RequireToken {
		token = m.SessionId
	}
	var claims *auth.Claims
	if token != "" || settings.RequireToken {
		var reason string
		var err error
		if claims, reason, err = a.checkToken(token, m); err != nil {
			a.j.log.Error("client token not checked", slog.Any("err", err))
			return &opsyncpb.ClientAuthorization{InstanceExists: true, InternalError: "the instance's client secret cannot be read on this node: " + err.Error()}
		}
		if reason != "" {
			return &opsyncpb.ClientAuthorization{InstanceExists: true, Reason: reason}
		}
	}
	res := &opsyncpb.ClientAuthorization{InstanceExists: true, Authorized: true, DeviceStreamWithheld: deviceStreamWithheld(settings, claims)}
	res.DocumentRoles, res.DocumentRolesSet = documentRoles(claims)
	res.WithheldBizTypes = withheldBizTypes(m.BizTypes, a.state.Config, m.UserId == "", res.DeviceStreamWithheld)
	if settings.ValidationUrl != "" && !settings.SignatureCheckOff && a.state.NeedsConsistency() {
		res.ValidationUrl = settings.ValidationUrl
	}
	return res
}

// checkToken returns the claims of token, or why it does not let m
// connect, or the error that kept it from checking (the client secret
// does not open).
func (a *instanceActor) checkToken(token string, m *opsyncpb.AuthorizeClient) (*auth.Claims, string, error) {
	if token == "" {
		return nil, "this instance requires a client token", nil
	}
	secret, err := a.clientSecret()
	if err != nil {
		return nil, "", err
	}
	c, err := auth.VerifyHS256(token, secret, a.deps.now())
	switch {
	case err != nil:
		return nil, err.Error(), nil
	case c.Instance != a.identity:
		return nil, "token: iid is not this instance", nil
	case c.Subject != m.UserId && m.UserId == "":
		return nil, "token: a device-only connection (no userId) takes a token without sub", nil
	case c.Subject != m.UserId:
		return nil, "token: sub is not the userId", nil
	case c.Device != "" && c.Device != m.DeviceId:
		return nil, "token: did is not the deviceId", nil
	}
	return c, "", nil
}

// CheckValidationURL checks an instance's validation endpoint: "" (none)
// or an absolute http(s) URL.
func CheckValidationURL(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > maxValidationURLLen || !utf8.ValidString(s) {
		return fmt.Errorf("validationUrl longer than %d bytes", maxValidationURLLen)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("validationUrl must be an absolute http(s) URL, not %q", s)
	}
	return nil
}
