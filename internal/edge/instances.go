package edge

import (
	"errors"
	"fmt"
	"net/http"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// The instance administration API: instances and their credentials
// (here), settings (settings.go), the operation log (operations.go) and
// the console's "send data" push (adminpush.go); the JSON shapes are in
// instancejson.go.

func (s *Server) routeInstances() {
	const base = "/api/v1/instances"
	s.mux.HandleFunc("POST "+base, s.instanceCreate)
	s.mux.HandleFunc("GET "+base, s.instanceList)
	s.mux.HandleFunc("GET "+base+"/{instance}", s.instanceGet)
	s.mux.HandleFunc("POST "+base+"/{instance}/keys/rotate", s.instanceRotate)
	s.mux.HandleFunc("GET "+base+"/{instance}/settings", s.settingsGet)
	s.mux.HandleFunc("PATCH "+base+"/{instance}/settings", s.settingsPatch)
	s.mux.HandleFunc("GET "+base+"/{instance}/operations", s.operationsQuery)
	// Deprecated: /oplog is the operation log's first path, kept as an
	// alias of /operations ("oplog" names the sync oplog everywhere else).
	s.mux.HandleFunc("GET "+base+"/{instance}/oplog", s.operationsQuery)
	s.mux.HandleFunc("POST "+base+"/{instance}/push", s.adminPush)
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
	if _, read := cmd.(*opsyncpb.GetInstance); !read {
		// A creation or a key rotation: the next push on this node must
		// see it.
		s.push.Invalidate(instance)
	}
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
		writeError(w, http.StatusBadRequest, "INVALID", instanceIDRule)
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
	// The keys are shown once, by create and rotate: the instance keeps
	// only their hash and sealed form.
	s.instanceCommand(w, r, instance, &opsyncpb.GetInstance{}, http.StatusOK, false)
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
