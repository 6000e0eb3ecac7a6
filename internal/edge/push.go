package edge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/resultcode"
	"github.com/opsync/opsync/proto/opsyncpb"
)

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

// answerPush writes a push answer. The source's codes answer 200 as the
// source does; opsync's own codes use the matching HTTP status.
func answerPush(w http.ResponseWriter, code, detail string, oplogID uint64) {
	status := http.StatusOK
	switch code {
	case resultcode.ArgsInvalid:
		status = http.StatusBadRequest
	case resultcode.InstanceNotFound:
		status = http.StatusNotFound
	case resultcode.Unauthorized:
		status = http.StatusUnauthorized
	}
	metrics.Pushes.WithLabelValues(code).Inc()
	writeJSON(w, status, pushAnswer{Success: resultcode.Successful(code), Msg: code, OplogID: oplogID, Detail: detail})
}

// readPush checks what the single and global push APIs share: POST, the
// instanceId, the API key, and the body. It answers the refusal itself and
// returns ok false then.
func (s *Server) readPush(w http.ResponseWriter, r *http.Request, withLinkToken bool) (instanceID string, req *PushRequest, ok bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, pushAnswer{Msg: resultcode.ArgsInvalid, Detail: "use POST"})
		return "", nil, false
	}
	instanceID = r.URL.Query().Get("instanceId")
	if instanceID == "" {
		answerPush(w, resultcode.ArgsIsNull, "instanceId query parameter is required", 0)
		return "", nil, false
	}
	if !ValidInstanceID(instanceID) {
		answerPush(w, resultcode.ArgsInvalid, "instanceId must be 1-64 characters of A-Z, a-z, 0-9, '_', '-', '.'", 0)
		return "", nil, false
	}
	if code := s.authorizePush(r, instanceID); code != "" {
		answerPush(w, code, "", 0)
		return "", nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			answerPush(w, resultcode.PayloadLong, "request body too large", 0)
			return "", nil, false
		}
		answerPush(w, resultcode.ArgsInvalid, "reading body: "+err.Error(), 0)
		return "", nil, false
	}
	req, err = ParsePushBody(body, withLinkToken)
	if err != nil {
		code, detail := pushCode(err)
		answerPush(w, code, detail, 0)
		return "", nil, false
	}
	return instanceID, req, true
}

func (s *Server) handleSinglePush(w http.ResponseWriter, r *http.Request) {
	instanceID, req, ok := s.readPush(w, r, true)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	cfg, code := s.pushConfig(ctx, instanceID, req.BizType)
	if code != "" {
		answerPush(w, code, "", 0)
		return
	}
	if cfg.Scope == opsyncpb.Scope_SCOPE_GLOBAL {
		answerPush(w, resultcode.NotSupportGlobal, "bizType is global: use /webapi/sync/global", 0)
		return
	}
	res, err := s.member.Push(ctx, instanceID, cfg.Target, req.LinkToken, req.EntryUnder(cfg, time.Now().UnixMilli()), !cfg.Persistent)
	if err != nil {
		s.opts.Logger.Warn("push failed", slog.String("instance", instanceID), slog.Any("err", err))
		answerPush(w, resultcode.SystemError, "", 0)
		return
	}
	answerPush(w, res.Code, "", res.OplogId)
}

// pushConfig returns the online config of bizType, or the result code that
// refuses the push.
func (s *Server) pushConfig(ctx context.Context, instanceID, bizType string) (*opsyncpb.BizTypeConfig, string) {
	ans, err := s.member.BizType(ctx, instanceID, bizType)
	switch {
	case err != nil:
		s.opts.Logger.Warn("config lookup failed", slog.String("instance", instanceID), slog.Any("err", err))
		return nil, resultcode.SystemError
	case !ans.InstanceExists:
		return nil, resultcode.InstanceNotFound
	case !ans.Found || !ans.Config.Online:
		return nil, resultcode.BizNotOnline
	}
	return ans.Config, ""
}
