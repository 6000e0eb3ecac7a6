package edge

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/resultcode"
)

// The push APIs are thin: they parse and check the HTTP input, hand a
// push.Request to the push service (internal/push), and answer its result.

// maxPushBody bounds a push request body: far above any valid push (4096
// characters of payload, even fully \u-escaped), far below harm.
const maxPushBody = 1 << 20

// pushAnswer is the source's answer {"success":…,"msg":…}; opsync adds the
// entry's oplog id on success and a detail on refusals of its own.
type pushAnswer struct {
	Success bool   `json:"success"`
	Msg     string `json:"msg"`
	OplogID uint64 `json:"oplogId,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// pushStatus is the HTTP status of a push API answer with code, single,
// global, batch and admin push alike: the source's codes answer 200 as
// the source does; opsync's own codes use the matching HTTP status.
func pushStatus(code string) int {
	switch code {
	case resultcode.ArgsInvalid:
		return http.StatusBadRequest
	case resultcode.InstanceNotFound:
		return http.StatusNotFound
	case resultcode.Unauthorized:
		return http.StatusUnauthorized
	}
	return http.StatusOK
}

// answerPush writes a push answer and counts it.
func answerPush(w http.ResponseWriter, code, detail string, oplogID uint64) {
	metrics.Pushes.WithLabelValues(code).Inc()
	writeJSON(w, pushStatus(code), pushAnswer{Success: resultcode.Successful(code), Msg: code, OplogID: oplogID, Detail: detail})
}

// answerResult writes the push service's result.
func answerResult(w http.ResponseWriter, res push.Result) {
	answerPush(w, res.Code, res.Detail, res.OplogID)
}

// refuseMethod answers a push API called with another method than POST.
func refuseMethod(w http.ResponseWriter, answer any) {
	w.Header().Set("Allow", http.MethodPost)
	writeJSON(w, http.StatusMethodNotAllowed, answer)
}

// authorizePush asks the push service whether the request's API key may
// push to the instance, before the body is read (an unknown instance is
// INSTANCE_NOT_FOUND whatever the key, a wrong key UNAUTHORIZED whatever
// the body).
func (s *Server) authorizePush(r *http.Request, instanceID string) (*push.Tenant, push.Result) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	return s.push.Authorize(ctx, instanceID, push.APIKey(r.Header.Get(APIKeyHeader)))
}

// readPush checks what the single and global push APIs share: POST, the
// instanceId, the API key, and the body. It answers the refusal itself and
// returns ok false then.
func (s *Server) readPush(w http.ResponseWriter, r *http.Request, withLinkToken bool) (tenant *push.Tenant, req *PushRequest, ok bool) {
	if r.Method != http.MethodPost {
		refuseMethod(w, pushAnswer{Msg: resultcode.ArgsInvalid, Detail: "use POST"})
		return nil, nil, false
	}
	instanceID := r.URL.Query().Get("instanceId")
	if instanceID == "" {
		answerPush(w, resultcode.ArgsIsNull, "instanceId query parameter is required", 0)
		return nil, nil, false
	}
	if !ValidInstanceID(instanceID) {
		answerPush(w, resultcode.ArgsInvalid, instanceIDRule, 0)
		return nil, nil, false
	}
	tenant, refused := s.authorizePush(r, instanceID)
	if tenant == nil {
		answerResult(w, refused)
		return nil, nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			answerPush(w, resultcode.PayloadLong, "request body too large", 0)
			return nil, nil, false
		}
		answerPush(w, resultcode.ArgsInvalid, "reading body: "+err.Error(), 0)
		return nil, nil, false
	}
	req, err = ParsePushBody(body, withLinkToken)
	if err != nil {
		code, detail := pushCode(err)
		answerPush(w, code, detail, 0)
		return nil, nil, false
	}
	return tenant, req, true
}

// handleSinglePush is the source's single push: one entry into the stream
// of the user or device linkToken names.
func (s *Server) handleSinglePush(w http.ResponseWriter, r *http.Request) {
	tenant, req, ok := s.readPush(w, r, true)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	answerResult(w, tenant.Push(ctx, req.Request(push.Specified)))
}
