package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/docrest"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// The documents' webhooks of an environment (admin API): PUT sets them
// ({"webhooks":[{"url","events","secret"}]}; secrets are never answered),
// GET answers them with their delivery state.

func (s *Server) routeDocHooks() {
	s.mux.HandleFunc("PUT /api/v1/instances/{instance}/doc/webhooks", s.docHooksPut)
	s.mux.HandleFunc("GET /api/v1/instances/{instance}/doc/webhooks", s.docHooksGet)
	s.mux.HandleFunc("DELETE /api/v1/instances/{instance}/doc", s.docEnvDelete)
	s.mux.HandleFunc("POST /api/v1/instances/{instance}/doc/key/rotate", s.docKeyRotate)
	s.mux.HandleFunc("PUT /api/v5/{env}/webhooks", s.docCall(0, s.docHooksREST))
	s.mux.HandleFunc("GET /api/v5/{env}/webhooks", s.docCall(0, s.docHooksREST))
}

func (s *Server) docHooksPut(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	var body struct {
		Webhooks []struct {
			URL    string   `json:"url"`
			Events []string `json:"events"`
			Secret string   `json:"secret"`
		} `json:"webhooks"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	inst, err := s.member.InstanceCommand(ctx, instance, &opsyncpb.GetInstance{})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	if inst.Code != actors.ConfigOK {
		answerInstance(w, inst, http.StatusOK, false)
		return
	}
	cmd := &opsyncpb.SetDocHooks{}
	for _, h := range body.Webhooks {
		cmd.Webhooks = append(cmd.Webhooks, &opsyncpb.DocWebhookConfig{Url: h.URL, Events: h.Events, Secret: h.Secret})
	}
	res, err := s.member.DocHooks(ctx, instance, cmd)
	s.answerDocHooks(w, instance, res, err)
}

func (s *Server) docHooksGet(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := s.member.DocHooks(ctx, instance, &opsyncpb.GetDocHooks{})
	s.answerDocHooks(w, instance, res, err)
}

func (s *Server) answerDocHooks(w http.ResponseWriter, instance string, res *opsyncpb.DocHooksAnswer, err error) {
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	case res.Code == actors.DocHooksInvalid:
		writeError(w, http.StatusBadRequest, "INVALID", res.Detail)
		return
	case res.Code != "":
		writeError(w, http.StatusServiceUnavailable, res.Code, res.Detail)
		return
	}
	writeJSON(w, http.StatusOK, docHooksJSON(instance, res))
}

// docHooksJSON is the webhooks and their delivery state, without secrets.
func docHooksJSON(instance string, res *opsyncpb.DocHooksAnswer) map[string]any {
	hooks := []any{}
	for _, h := range res.Webhooks {
		events := h.Events
		if events == nil {
			events = []string{}
		}
		hooks = append(hooks, map[string]any{"id": h.Id, "url": h.Url, "events": events, "pending": h.Pending, "delivered_seq": h.DeliveredSeq,
			"attempts": h.Attempts, "last_error": h.LastError, "last_attempt_at": h.LastAttemptAt, "last_success_at": h.LastSuccessAt})
	}
	return map[string]any{"environment_id": instance, "queued": res.Queued, "webhooks": hooks}
}

// docEnvDelete deletes the environment's documents data: its data keys
// and API secret are destroyed first (nothing sealed with them opens
// again), then its documents answer as if they had none.
func (s *Server) docEnvDelete(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := s.member.DocEnv(ctx, instance, &opsyncpb.DestroyDocEnv{})
	if err != nil || res.Code != "" {
		msg := res.GetDetail()
		if err != nil {
			msg = err.Error()
		}
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", msg)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"environment_id": instance, "deleted": true})
}

// docKeyRotate adds a data key that seals the environment's data from
// now on (documents active on a node take it at their next activation).
func (s *Server) docKeyRotate(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := s.member.DocEnv(ctx, instance, &opsyncpb.RotateDocKey{})
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
	case res.Destroyed:
		writeError(w, http.StatusNotFound, "NOT_FOUND", res.Detail)
	case res.Code != "":
		writeError(w, http.StatusServiceUnavailable, res.Code, res.Detail)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"environment_id": instance, "key_version": res.Keys[len(res.Keys)-1].Version})
	}
}

// The same through the REST API, signed with the environment's secret:
// PUT and GET /api/v5/{env}/webhooks.
func (s *Server) docHooksREST(ctx context.Context, r *http.Request, env string, _ opsyncpb.DocKind, body []byte) (int, any, *docrest.Error) {
	var cmd proto.Message = &opsyncpb.GetDocHooks{}
	if r.Method == http.MethodPut {
		var b struct {
			Webhooks []struct {
				URL    string   `json:"url"`
				Events []string `json:"events"`
				Secret string   `json:"secret"`
			} `json:"webhooks"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			return 0, nil, docrest.BadRequest("the body must be {\"webhooks\":[{\"url\",\"events\",\"secret\"}]}: " + err.Error())
		}
		set := &opsyncpb.SetDocHooks{}
		for _, h := range b.Webhooks {
			set.Webhooks = append(set.Webhooks, &opsyncpb.DocWebhookConfig{Url: h.URL, Events: h.Events, Secret: h.Secret})
		}
		cmd = set
	}
	res, err := s.member.DocHooks(ctx, env, cmd)
	switch {
	case err != nil:
		return 0, nil, docrest.Unavailable(err.Error())
	case res.Code == actors.DocHooksInvalid:
		return 0, nil, docrest.BadRequest(res.Detail)
	case res.Code != "":
		return 0, nil, docrest.Unavailable(res.Detail)
	}
	return http.StatusOK, docHooksJSON(env, res), nil
}
