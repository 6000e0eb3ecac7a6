package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/resultcode"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// The instance administration API: instances and their credentials,
// settings (requireToken, validationUrl, the signature switch), the
// operation log and the console's "send data" push.

func (s *Server) routeInstances() {
	const base = "/api/v1/instances"
	s.mux.HandleFunc("POST "+base, s.instanceCreate)
	s.mux.HandleFunc("GET "+base, s.instanceList)
	s.mux.HandleFunc("GET "+base+"/{instance}", s.instanceGet)
	s.mux.HandleFunc("POST "+base+"/{instance}/keys/rotate", s.instanceRotate)
	s.mux.HandleFunc("GET "+base+"/{instance}/settings", s.settingsGet)
	s.mux.HandleFunc("PATCH "+base+"/{instance}/settings", s.settingsPatch)
	s.mux.HandleFunc("GET "+base+"/{instance}/oplog", s.oplogQuery)
	s.mux.HandleFunc("POST "+base+"/{instance}/push", s.adminPush)
}

// InstanceJSON is an instance as the admin API answers it. The list leaves
// the credentials out.
type InstanceJSON struct {
	InstanceID    string       `json:"instanceId"`
	APIKey        string       `json:"apiKey,omitempty"`
	ClientSecret  string       `json:"clientSecret,omitempty"`
	CreatedAt     int64        `json:"createdAt"`
	KeysRotatedAt int64        `json:"keysRotatedAt"`
	BizTypes      uint32       `json:"bizTypes"`
	Settings      SettingsJSON `json:"settings"`
}

// SettingsJSON are an instance's settings. In a PATCH every field is
// optional and only those given change.
type SettingsJSON struct {
	RequireToken   bool   `json:"requireToken"`
	ValidationURL  string `json:"validationUrl"`
	SignatureCheck bool   `json:"signatureCheck"`
}

func settingsJSON(st *opsyncpb.InstanceSettings) SettingsJSON {
	return SettingsJSON{RequireToken: st.GetRequireToken(), ValidationURL: st.GetValidationUrl(), SignatureCheck: !st.GetSignatureCheckOff()}
}

func instanceJSON(in *opsyncpb.InstanceInfo, withKeys bool) InstanceJSON {
	j := InstanceJSON{InstanceID: in.InstanceId, CreatedAt: in.CreatedAt, KeysRotatedAt: in.KeysSetAt, BizTypes: in.BizTypes, Settings: settingsJSON(in.Settings)}
	if withKeys {
		j.APIKey, j.ClientSecret = in.ApiKey, in.ClientSecret
	}
	return j
}

// readJSON decodes a small JSON object body strictly (unknown fields are
// refused); an empty body leaves v as it is.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "INVALID", "body too large")
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		msg := "body must be one JSON object"
		if err != nil {
			msg = "body: " + err.Error()
		}
		writeError(w, http.StatusBadRequest, "INVALID", msg)
		return false
	}
	return true
}

// answerInstance writes an instance command's result.
func answerInstance(w http.ResponseWriter, res *opsyncpb.InstanceResult, okStatus int, withKeys bool) {
	switch res.Code {
	case actors.ConfigOK:
		if res.Instance == nil {
			writeJSON(w, okStatus, map[string]any{"ok": true})
			return
		}
		writeJSON(w, okStatus, map[string]any{"instance": instanceJSON(res.Instance, withKeys)})
	case actors.ConfigInstanceNotFound:
		writeError(w, http.StatusNotFound, res.Code, res.Message)
	case actors.InstanceAlreadyExists:
		writeError(w, http.StatusConflict, res.Code, res.Message)
	case actors.ConfigInvalid:
		writeError(w, http.StatusBadRequest, res.Code, res.Message)
	default:
		writeError(w, http.StatusServiceUnavailable, res.Code, res.Message)
	}
}

func (s *Server) instanceCommand(w http.ResponseWriter, r *http.Request, instance string, cmd proto.Message, okStatus int, withKeys bool) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := s.member.InstanceCommand(ctx, instance, cmd)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	answerInstance(w, res, okStatus, withKeys)
}

// instanceCreate creates an instance: POST {"instanceId": ID} answers 201
// {"instance": {instanceId, apiKey, clientSecret, ...}}, 409
// ALREADY_EXISTS when it exists. The id goes into the registry first (so
// that a creation never goes unlisted), then the instance is created.
func (s *Server) instanceCreate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		InstanceID string `json:"instanceId"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	if !ValidInstanceID(body.InstanceID) {
		writeError(w, http.StatusBadRequest, "INVALID", "instanceId must be 1-64 characters of A-Z, a-z, 0-9, '_', '-', '.'")
		return
	}
	op, ok := operator(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	if reg, err := s.member.RegisterInstance(ctx, body.InstanceID); err != nil || !reg.Ok {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", fmt.Sprintf("instance registry unavailable: %v", err))
		return
	}
	s.instanceCommand(w, r, body.InstanceID, &opsyncpb.CreateInstance{Operator: op}, http.StatusCreated, true)
}

func (s *Server) instanceGet(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	s.instanceCommand(w, r, instance, &opsyncpb.GetInstance{}, http.StatusOK, true)
}

func (s *Server) instanceRotate(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	op, ok := operator(w, r)
	if !ok {
		return
	}
	s.instanceCommand(w, r, instance, &opsyncpb.RotateInstanceKeys{Operator: op}, http.StatusOK, true)
}

// instanceList answers {"instances": [...]} without credentials, ordered by
// id.
func (s *Server) instanceList(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	list, err := s.member.Instances(ctx)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	out := make([]*InstanceJSON, len(list.Instances))
	errs := make([]error, len(list.Instances))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, reg := range list.Instances {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res, err := s.member.InstanceCommand(ctx, reg.InstanceId, &opsyncpb.GetInstance{})
			switch {
			case err != nil:
				errs[i] = err
			case res.Code == actors.ConfigOK:
				j := instanceJSON(res.Instance, false)
				out[i] = &j
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	instances := make([]*InstanceJSON, 0, len(out))
	for _, j := range out {
		if j != nil { // registered, but its creation failed
			instances = append(instances, j)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"instances": instances})
}

func (s *Server) settingsGet(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := s.member.InstanceCommand(ctx, instance, &opsyncpb.GetInstance{})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	if res.Code != actors.ConfigOK {
		answerInstance(w, res, http.StatusOK, false)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"settings": settingsJSON(res.Instance.Settings)})
}

// settingsPatch changes the settings given: {"requireToken": bool,
// "validationUrl": "https://..." or "", "signatureCheck": bool}.
func (s *Server) settingsPatch(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	var body struct {
		RequireToken   *bool   `json:"requireToken"`
		ValidationURL  *string `json:"validationUrl"`
		SignatureCheck *bool   `json:"signatureCheck"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	if body.ValidationURL != nil {
		if err := actors.CheckValidationURL(*body.ValidationURL); err != nil {
			writeError(w, http.StatusBadRequest, "INVALID", err.Error())
			return
		}
	}
	op, ok := operator(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := s.member.InstanceCommand(ctx, instance, &opsyncpb.ChangeInstanceSettings{Operator: op,
		RequireToken: body.RequireToken, ValidationUrl: body.ValidationURL, SignatureCheck: body.SignatureCheck})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	if res.Code != actors.ConfigOK {
		answerInstance(w, res, http.StatusOK, false)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"settings": settingsJSON(res.Instance.Settings)})
}

// OperationJSON is one row of the operation log.
type OperationJSON struct {
	Time     int64                 `json:"time"`
	Operator string                `json:"operator"`
	Action   string                `json:"action"`
	Target   string                `json:"target,omitempty"`
	Details  map[string]string     `json:"details,omitempty"`
	Changes  map[string]ChangeJSON `json:"changes,omitempty"`
}

// ChangeJSON is a modified field: its value before and after.
type ChangeJSON struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// oplogWindow is the default range of an operation log query.
const oplogWindow = 7 * 24 * time.Hour

// oplogQuery answers GET …/oplog?operator=&action=&from=&to=&limit=: the
// rows in [from, to] (RFC 3339, a date, or ms since the epoch; default the
// last 7 days), newest first, at most limit (default and maximum 1000).
func (s *Server) oplogQuery(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	q := r.URL.Query()
	now := time.Now()
	to, err := ParseTimeParam(q.Get("to"), true)
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID", "to: "+err.Error())
		return
	}
	if q.Get("to") == "" {
		to = now.UnixMilli()
	}
	from, err := ParseTimeParam(q.Get("from"), false)
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID", "from: "+err.Error())
		return
	}
	if q.Get("from") == "" {
		from = time.UnixMilli(to).Add(-oplogWindow).UnixMilli()
	}
	if from > to {
		writeError(w, http.StatusBadRequest, "INVALID", "from is after to")
		return
	}
	limit := state.OplogMaxQuery
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > state.OplogMaxQuery {
			writeError(w, http.StatusBadRequest, "INVALID", fmt.Sprintf("limit must be 1-%d", state.OplogMaxQuery))
			return
		}
		limit = n
	}
	operatorQ, action := q.Get("operator"), q.Get("action")
	if len(operatorQ) > maxOperatorLen || len(action) > 64 {
		writeError(w, http.StatusBadRequest, "INVALID", "operator or action too long")
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	list, err := s.member.Operations(ctx, instance, &opsyncpb.QueryOperations{Operator: operatorQ, Action: action, From: from, To: to, Limit: uint32(limit)})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	if !list.InstanceExists {
		writeError(w, http.StatusNotFound, actors.ConfigInstanceNotFound, "no such instance")
		return
	}
	rows := make([]OperationJSON, 0, len(list.Operations))
	for _, op := range list.Operations {
		rows = append(rows, operationJSON(op))
	}
	writeJSON(w, http.StatusOK, map[string]any{"operations": rows, "from": from, "to": to, "truncated": list.Truncated})
}

func operationJSON(op *opsyncpb.Operation) OperationJSON {
	j := OperationJSON{Time: op.Time, Operator: op.Operator, Action: op.Action, Target: op.Target, Details: op.Details}
	if len(op.Changes) > 0 {
		j.Changes = make(map[string]ChangeJSON, len(op.Changes))
		for k, c := range op.Changes {
			j.Changes[k] = ChangeJSON{Old: c.GetOld(), New: c.GetNew()}
		}
	}
	return j
}

// ParseTimeParam reads a time query parameter: milliseconds since the
// epoch, RFC 3339, or a date (YYYY-MM-DD, UTC; its end when endOfDay). ""
// is 0.
func ParseTimeParam(v string, endOfDay bool) (int64, error) {
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, errors.New("negative time")
		}
		return n, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UnixMilli(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		if endOfDay {
			t = t.Add(24*time.Hour - time.Millisecond)
		}
		return t.UnixMilli(), nil
	}
	return 0, fmt.Errorf("%q is neither RFC 3339, a date nor milliseconds since the epoch", v)
}

// adminPush is the console's "send data": one push body (with linkToken
// for a specified-scope bizType, without for a global one), answered as
// the push APIs answer it, and recorded in the operation log as
// CREATE_PUSH with its fields and result.
func (s *Server) adminPush(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	op, ok := operator(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushBody))
	if err != nil {
		answerPush(w, resultcode.PayloadLong, "request body too large", 0)
		return
	}
	var peek struct {
		LinkToken json.RawMessage `json:"linkToken"`
	}
	single := json.Unmarshal(body, &peek) != nil || len(peek.LinkToken) > 0
	req, err := ParsePushBody(body, single)
	if err != nil {
		code, detail := pushCode(err)
		answerPush(w, code, detail, 0)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	cfg, code := s.pushConfig(ctx, instance, req.BizType)
	if code != "" {
		answerPush(w, code, "", 0)
		return
	}
	global := cfg.Scope == opsyncpb.Scope_SCOPE_GLOBAL
	switch {
	case global && single:
		answerPush(w, resultcode.NotSupportGlobal, "bizType is global: push without linkToken", 0)
		return
	case !global && !single:
		answerPush(w, resultcode.ArgsIsNull, "linkToken is required", 0)
		return
	}
	entry := req.EntryUnder(cfg, time.Now().UnixMilli())
	var res *opsyncpb.PushResult
	if global {
		res, err = s.member.PushGlobal(ctx, instance, req.BizType, entry)
	} else {
		res, err = s.member.Push(ctx, instance, cfg.Target, req.LinkToken, entry, !cfg.Persistent)
	}
	if err != nil {
		s.opts.Logger.Warn("admin push failed", slog.String("instance", instance), slog.Any("err", err))
		res = &opsyncpb.PushResult{Code: resultcode.SystemError}
	}
	details := pushDetails(req)
	details["msg"] = res.Code
	if res.OplogId > 0 {
		details["oplogId"] = strconv.FormatUint(res.OplogId, 10)
	}
	rec, rerr := s.member.InstanceCommand(ctx, instance, &opsyncpb.RecordOperation{Operation: &opsyncpb.Operation{
		Time: time.Now().UnixMilli(), Operator: op, Action: state.ActionCreatePush, Target: req.BizType, Details: details}})
	if rerr != nil || rec.Code != actors.ConfigOK {
		s.opts.Logger.Warn("admin push not recorded in the operation log", slog.String("instance", instance), slog.Any("err", rerr))
	}
	answerPush(w, res.Code, "", res.OplogId)
}

// pushDetails are the fields of a push as its operation log row shows
// them (source: target id, data, data id, app version range, validity).
func pushDetails(req *PushRequest) map[string]string {
	d := map[string]string{"bizType": req.BizType, "thirdMsgId": req.ThirdMsgID}
	set := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	set("linkToken", req.LinkToken)
	set("payload", req.Payload)
	set("binaryPayload", req.BinaryPayload) // base64, as pushed
	set("osType", req.OSType)
	set("appMinVersion", req.AppMinVersion)
	set("appMaxVersion", req.AppMaxVersion)
	if req.ValidTimeEnd > 0 {
		d["validTimeEnd"] = strconv.FormatInt(req.ValidTimeEnd, 10)
	}
	return d
}
