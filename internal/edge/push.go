package edge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/resultcode"
)

// The push APIs are thin: they parse and check the HTTP input, hand a
// push.Request to the push service (internal/push), and answer its result.

// maxPushBody bounds a push request body: far above any valid push (4096
// characters of payload, even fully \u-escaped), far below harm.
const maxPushBody = 1 << 20

// The push APIs, as the metric of the pushes an instance receives and the
// operation log name them.
const (
	apiSingle = "single"
	apiGlobal = "global"
	apiBatch  = "batch"
)

// pushAnswer is the source's answer {"success":…,"msg":…}; opsync adds the
// entry's oplog id on success and a detail on refusals of its own.
type pushAnswer struct {
	Success bool   `json:"success"`
	Msg     string `json:"msg"`
	OplogID uint64 `json:"oplogId,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// pushStatus is the HTTP status of a push answer with code, single,
// global, batch and admin push alike. The push APIs answer every result
// with 200 and the code in msg, as the source does (its sample client
// reads only 200 answers); with strict statuses (the admin API's push
// always, the push APIs with serve --strict-push-status) opsync's own
// codes take the matching HTTP status.
func pushStatus(code string, strict bool) int {
	if !strict {
		return http.StatusOK
	}
	switch code {
	case resultcode.ArgsInvalid, resultcode.ArgsNotUTF8:
		return http.StatusBadRequest
	case resultcode.InstanceNotFound:
		return http.StatusNotFound
	case resultcode.Unauthorized:
		return http.StatusUnauthorized
	}
	return http.StatusOK
}

// answerPush writes a push answer and counts it.
func answerPush(w http.ResponseWriter, strict bool, code, detail string, oplogID uint64) {
	metrics.Pushes.WithLabelValues(code).Inc()
	writeJSON(w, pushStatus(code, strict), pushAnswer{Success: resultcode.Successful(code), Msg: code, OplogID: oplogID, Detail: detail})
}

// answerResult writes the push service's result.
func answerResult(w http.ResponseWriter, strict bool, res push.Result) {
	answerPush(w, strict, res.Code, res.Detail, res.OplogID)
}

// refuseMethod answers a push API called with another method than POST:
// 405 with strict statuses, else 200 as every push answer.
func refuseMethod(w http.ResponseWriter, strict bool, answer any) {
	w.Header().Set("Allow", http.MethodPost)
	status := http.StatusOK
	if strict {
		status = http.StatusMethodNotAllowed
	}
	writeJSON(w, status, answer)
}

// callerOf is who sends a push API request: the API key it presents and
// the address of its connection. The address is the TCP peer's, never a
// header such as X-Forwarded-For that any caller can set.
func callerOf(r *http.Request) push.Caller {
	c := push.APIKey(r.Header.Get(APIKeyHeader))
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		c.From = ap.Addr().Unmap()
	}
	return c
}

// authorizePush asks the push service whether the request may push to the
// instance, before the body is read (an unknown instance is
// INSTANCE_NOT_FOUND whatever the key, a refused caller UNAUTHORIZED
// whatever the body).
func (s *Server) authorizePush(r *http.Request, instanceID string) (*push.Tenant, push.Result) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	return s.push.Authorize(ctx, instanceID, callerOf(r))
}

// readPush checks what the single and global push APIs share: POST, the
// instanceId, the caller, and the body. It answers the refusal itself and
// returns ok false then. A push the instance authorized is counted under
// api whatever its body.
func (s *Server) readPush(w http.ResponseWriter, r *http.Request, api string) (tenant *push.Tenant, req *PushRequest, ok bool) {
	strict := s.opts.StrictPushStatus
	if r.Method != http.MethodPost {
		refuseMethod(w, strict, pushAnswer{Msg: resultcode.ArgsInvalid, Detail: "use POST"})
		return nil, nil, false
	}
	instanceID := r.URL.Query().Get("instanceId")
	if instanceID == "" {
		answerPush(w, strict, resultcode.ArgsIsNull, "instanceId query parameter is required", 0)
		return nil, nil, false
	}
	if !ValidInstanceID(instanceID) {
		answerPush(w, strict, resultcode.ArgsInvalid, instanceIDRule, 0)
		return nil, nil, false
	}
	tenant, refused := s.authorizePush(r, instanceID)
	if tenant == nil {
		answerResult(w, strict, refused)
		return nil, nil, false
	}
	metrics.WebAPIPushes.WithLabelValues(instanceID, api).Inc()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			answerPush(w, strict, resultcode.PayloadLong, "request body too large", 0)
			return nil, nil, false
		}
		answerPush(w, strict, resultcode.ArgsInvalid, "reading body: "+err.Error(), 0)
		return nil, nil, false
	}
	req, err = ParsePushBody(body, api == apiSingle)
	if err != nil {
		code, detail := pushCode(err)
		answerPush(w, strict, code, detail, 0)
		return nil, nil, false
	}
	return tenant, req, true
}

// servePush is the single (scope Specified) or global (scope Global) push
// API: one entry, recorded in the operation log when the instance asks.
func (s *Server) servePush(w http.ResponseWriter, r *http.Request, api string, scope push.Scope) {
	tenant, req, ok := s.readPush(w, r, api)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res := tenant.Push(ctx, req.Request(scope))
	s.recordAPIPushes(ctx, r, tenant, api, []*PushRequest{req}, []push.Result{res})
	answerResult(w, s.opts.StrictPushStatus, res)
}

// handleSinglePush is the source's single push: one entry into the stream
// of the user or device linkToken names.
func (s *Server) handleSinglePush(w http.ResponseWriter, r *http.Request) {
	s.servePush(w, r, apiSingle, push.Specified)
}
