package edge

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/opsync/opsync/internal/resultcode"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// handleGlobalPush is the source's global push: one entry for every user or
// device of a global bizType, stored in the bizType's global stream. Each
// client gets it from its own sync point at its next connect, or at once
// when the config's pushToOnline is on.
func (s *Server) handleGlobalPush(w http.ResponseWriter, r *http.Request) {
	instanceID, req, ok := s.readPush(w, r, false)
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
