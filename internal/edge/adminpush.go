package edge

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/resultcode"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// The admin console's push ("send data").

// adminPush is the console's "send data": one push body (with linkToken
// for a specified-scope bizType, without for a global one), answered as
// the push APIs answer it. A push that reached its stream is recorded in
// the operation log as CREATE_PUSH with its fields and result; one the
// push service refused first is not.
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
	// A body with a linkToken is a specified-scope push (which then needs
	// one); without, a global push.
	single := json.Unmarshal(body, &peek) != nil || len(peek.LinkToken) > 0
	req, err := ParsePushBody(body, single)
	if err != nil {
		code, detail := pushCode(err)
		answerPush(w, code, detail, 0)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res := s.push.Push(ctx, instance, push.Admin, req.Request(push.ByLinkToken))
	if !res.Routed {
		answerResult(w, res)
		return
	}
	details := pushDetails(req)
	details["msg"] = res.Code
	if res.OplogID > 0 {
		details["oplogId"] = strconv.FormatUint(res.OplogID, 10)
	}
	rec, rerr := s.member.InstanceCommand(ctx, instance, &opsyncpb.RecordOperation{Operation: &opsyncpb.Operation{
		Time: time.Now().UnixMilli(), Operator: op, Action: state.ActionCreatePush, Target: req.BizType, Details: details}})
	if rerr != nil || rec.Code != actors.ConfigOK {
		s.opts.Logger.Warn("admin push not recorded in the operation log", slog.String("instance", instance), slog.Any("err", rerr))
	}
	answerResult(w, res)
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
