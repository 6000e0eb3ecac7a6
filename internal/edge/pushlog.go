package edge

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Pushes in the operation log: the console's always, the push APIs' when
// their instance asks for it (the setting logApiPushes).

// apiPushOperator is the operator of the push APIs' rows: a backend has no
// operator name of its own, and the rows say which API and address.
const apiPushOperator = "webapi"

// recordAPIPushes records, when the instance asks for it, the pushes of
// one push API request that reached their streams (reqs[i] answered by
// results[i]; a nil request was refused before) as CREATE_PUSH rows like
// the console's, with the API and the caller's address, in one append per
// request. It runs before the answer, so that a push answered is in the
// log; a failure to record is logged and leaves the answer as it is (the
// entry is stored).
func (s *Server) recordAPIPushes(ctx context.Context, r *http.Request, tenant *push.Tenant, api string, reqs []*PushRequest, results []push.Result) {
	if !tenant.LogsPushes() {
		return
	}
	extra := map[string]string{"api": api}
	if from := callerOf(r).From; from.IsValid() {
		extra["remoteAddr"] = from.String()
	}
	s.recordPushes(ctx, tenant.ID(), pushOperations(apiPushOperator, extra, reqs, results))
}

// pushOperations are the CREATE_PUSH rows of the pushes that reached their
// streams, with their fields, result msg and oplogId, and extra.
func pushOperations(operator string, extra map[string]string, reqs []*PushRequest, results []push.Result) []*opsyncpb.Operation {
	var ops []*opsyncpb.Operation
	now := time.Now().UnixMilli()
	for i, req := range reqs {
		res := results[i]
		if req == nil || !res.Routed {
			continue
		}
		details := pushDetails(req)
		details["msg"] = res.Code
		if res.OplogID > 0 {
			details["oplogId"] = strconv.FormatUint(res.OplogID, 10)
		}
		for k, v := range extra {
			details[k] = v
		}
		ops = append(ops, &opsyncpb.Operation{Time: now, Operator: operator, Action: state.ActionCreatePush, Target: req.BizType, Details: details})
	}
	return ops
}

// recordPushes appends ops to the instance's operation log in one append.
func (s *Server) recordPushes(ctx context.Context, instance string, ops []*opsyncpb.Operation) {
	if len(ops) == 0 {
		return
	}
	rec, err := s.member.InstanceCommand(ctx, instance, &opsyncpb.RecordOperation{Operation: ops[0], More: ops[1:]})
	if err != nil || rec.Code != actors.ConfigOK {
		s.opts.Logger.Warn("pushes not recorded in the operation log", slog.String("instance", instance), slog.Int("rows", len(ops)), slog.Any("err", err))
	}
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
