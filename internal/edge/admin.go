package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// maxAdminBody bounds an admin request body.
const maxAdminBody = 64 << 10

func (s *Server) routeAdmin() {
	const base = "/api/v1/instances/{instance}/biztypes"
	s.mux.HandleFunc("GET "+base, s.adminList)
	s.mux.HandleFunc("GET "+base+"/{biz}", s.adminGet)
	s.mux.HandleFunc("PUT "+base+"/{biz}", s.adminPut)
	s.mux.HandleFunc("DELETE "+base+"/{biz}", s.adminDelete)
	s.mux.HandleFunc("POST "+base+"/{biz}/online", s.adminOnline(true))
	s.mux.HandleFunc("POST "+base+"/{biz}/offline", s.adminOnline(false))
}

// adminTarget reads and checks the path's instance and bizType.
func (s *Server) adminTarget(w http.ResponseWriter, r *http.Request, withBiz bool) (instance, biz string, ok bool) {
	instance, biz = r.PathValue("instance"), r.PathValue("biz")
	if !ValidInstanceID(instance) {
		writeError(w, http.StatusBadRequest, "INVALID", instanceIDRule)
		return "", "", false
	}
	if withBiz && !actors.ValidBizType(biz) {
		writeError(w, http.StatusBadRequest, "INVALID", "bizType must be "+actors.BizTypeRule)
		return "", "", false
	}
	return instance, biz, true
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

func (s *Server) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.opts.RequestTimeout)
}

func (s *Server) adminList(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	list, err := s.member.BizTypes(ctx, instance)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	if !list.InstanceExists {
		writeError(w, http.StatusNotFound, actors.ConfigInstanceNotFound, "no such instance")
		return
	}
	out := make([]ConfigJSON, 0, len(list.Configs))
	for _, c := range list.Configs {
		out = append(out, configJSON(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"configs": out})
}

func (s *Server) adminGet(w http.ResponseWriter, r *http.Request) {
	instance, biz, ok := s.adminTarget(w, r, true)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	ans, err := s.member.BizType(ctx, instance, biz)
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
	case !ans.InstanceExists:
		writeError(w, http.StatusNotFound, actors.ConfigInstanceNotFound, "no such instance")
	case !ans.Found:
		writeError(w, http.StatusNotFound, actors.ConfigNotFound, "no such bizType")
	default:
		writeJSON(w, http.StatusOK, map[string]any{"config": configJSON(ans.Config)})
	}
}

func (s *Server) adminPut(w http.ResponseWriter, r *http.Request) {
	instance, biz, ok := s.adminTarget(w, r, true)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "INVALID", "body too large")
		return
	}
	var cb ConfigBody
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cb); err != nil {
			writeError(w, http.StatusBadRequest, "INVALID", "body: "+err.Error())
			return
		}
	}
	cfg, err := cb.toProto(biz)
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID", err.Error())
		return
	}
	op, ok := operator(w, r)
	if !ok {
		return
	}
	s.changeConfig(w, r, instance, &opsyncpb.PutBizType{Config: cfg, Operator: op})
}

func (s *Server) adminDelete(w http.ResponseWriter, r *http.Request) {
	instance, biz, ok := s.adminTarget(w, r, true)
	if !ok {
		return
	}
	op, ok := operator(w, r)
	if !ok {
		return
	}
	s.changeConfig(w, r, instance, &opsyncpb.DeleteBizType{BizType: biz, Operator: op})
}

func (s *Server) adminOnline(online bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		instance, biz, ok := s.adminTarget(w, r, true)
		if !ok {
			return
		}
		op, ok := operator(w, r)
		if !ok {
			return
		}
		s.changeConfig(w, r, instance, &opsyncpb.SetBizTypeOnline{BizType: biz, Online: online, Operator: op})
	}
}

func (s *Server) changeConfig(w http.ResponseWriter, r *http.Request, instance string, cmd proto.Message) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := s.member.ChangeConfig(ctx, instance, cmd)
	// The next push on this node sees the change, whatever the answer (a
	// change that timed out may still have been stored); other nodes
	// hear of it from the instance (InstanceChanged), or within
	// push.CacheTTL.
	s.push.Invalidate(instance)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	switch res.Code {
	case actors.ConfigOK:
		if res.Config == nil {
			writeJSON(w, http.StatusOK, map[string]any{"ok": true})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"config": configJSON(res.Config)})
	case actors.ConfigNotFound, actors.ConfigInstanceNotFound:
		writeError(w, http.StatusNotFound, res.Code, res.Message)
	case actors.ConfigInvalid:
		writeError(w, http.StatusBadRequest, res.Code, res.Message)
	case actors.ConfigConflict:
		writeError(w, http.StatusConflict, res.Code, res.Message)
	default:
		writeError(w, http.StatusServiceUnavailable, res.Code, res.Message)
	}
}
