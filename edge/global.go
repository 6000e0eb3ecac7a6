package edge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
	"github.com/opsync/opsync/resultcode"
)

// handleGlobalPush is the source's global push: one entry for every user or
// device of a global bizType, stored in the bizType's global stream. Each
// client gets it from its own sync point at its next connect, or at once
// when the config's pushToOnline is on.
func (s *Server) handleGlobalPush(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, pushAnswer{Msg: resultcode.ArgsInvalid, Detail: "use POST"})
		return
	}
	instanceID := r.URL.Query().Get("instanceId")
	if instanceID == "" {
		answerPush(w, resultcode.ArgsIsNull, "instanceId query parameter is required", 0)
		return
	}
	if !ValidInstanceID(instanceID) {
		answerPush(w, resultcode.ArgsInvalid, "invalid instanceId", 0)
		return
	}
	if code := s.authorizePush(r, instanceID); code != "" {
		answerPush(w, code, "", 0)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			answerPush(w, resultcode.PayloadLong, "request body too large", 0)
			return
		}
		answerPush(w, resultcode.ArgsInvalid, "reading body: "+err.Error(), 0)
		return
	}
	req, err := ParsePushBody(body, false)
	if err != nil {
		code, detail := pushCode(err)
		answerPush(w, code, detail, 0)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	cfg, code := s.pushConfig(ctx, instanceID, req.BizType)
	if code != "" {
		answerPush(w, code, "", 0)
		return
	}
	if cfg.Scope != opsyncpb.Scope_SCOPE_GLOBAL {
		answerPush(w, resultcode.NotSupportGlobal, "bizType is not global: use /webapi/sync/single", 0)
		return
	}
	res, err := s.member.PushGlobal(ctx, instanceID, req.BizType, req.EntryUnder(cfg, time.Now().UnixMilli()))
	if err != nil {
		s.opts.Logger.Warn("global push failed", slog.String("instance", instanceID), slog.Any("err", err))
		answerPush(w, resultcode.SystemError, "", 0)
		return
	}
	answerPush(w, res.Code, "", res.OplogId)
}
