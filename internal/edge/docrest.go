package edge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/docrest"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// The documents REST API (README "Documents"), shaped after the service's
// REST v5: base /api/v5/{environmentId}/, every request signed with the
// environment's API secret (X-CS-Timestamp, X-CS-Signature), answers as
// JSON, refusals {"message", "status_code", "explanation"}.

func (s *Server) routeDocREST() {
	const base = "/api/v5/{env}/"
	for name, kind := range docrest.Resources {
		s.mux.HandleFunc("POST "+base+name, s.docCall(kind, s.docCreate))
		s.mux.HandleFunc("GET "+base+name, s.docCall(kind, s.docList))
		s.mux.HandleFunc("GET "+base+name+"/{id}", s.docCall(kind, s.docGet))
		s.mux.HandleFunc("PUT "+base+name+"/{id}", s.docCall(kind, s.docUpdate))
		s.mux.HandleFunc("DELETE "+base+name+"/{id}", s.docCall(kind, s.docAction(opsyncpb.DocAction_DOC_ACTION_DELETE)))
		s.mux.HandleFunc("PUT "+base+name+"/{id}/restore", s.docCall(kind, s.docAction(opsyncpb.DocAction_DOC_ACTION_RESTORE)))
	}
	thread, sugg := opsyncpb.DocKind_DOC_KIND_THREAD, opsyncpb.DocKind_DOC_KIND_SUGGESTION
	s.mux.HandleFunc("POST "+base+"threads/{id}/resolve", s.docCall(thread, s.docAction(opsyncpb.DocAction_DOC_ACTION_RESOLVE)))
	s.mux.HandleFunc("POST "+base+"threads/{id}/reopen", s.docCall(thread, s.docAction(opsyncpb.DocAction_DOC_ACTION_REOPEN)))
	s.mux.HandleFunc("POST "+base+"suggestions/{id}/accept", s.docCall(sugg, s.docAction(opsyncpb.DocAction_DOC_ACTION_ACCEPT)))
	s.mux.HandleFunc("POST "+base+"suggestions/{id}/reject", s.docCall(sugg, s.docAction(opsyncpb.DocAction_DOC_ACTION_REJECT)))
	s.mux.HandleFunc("DELETE "+base+"documents/{id}", s.docCall(0, s.docRemoveDocument))

	s.mux.HandleFunc("POST /api/v1/instances/{instance}/doc/secret", s.docSecretRotate)
	s.mux.HandleFunc("GET /api/v1/instances/{instance}/doc", s.docEnvGet)
	s.routeDocHooks()
	s.routeDocCollaborations()
}

// docHandler serves one REST call of a verified environment: the status
// and data to answer, or a refusal.
type docHandler func(ctx context.Context, r *http.Request, env string, kind opsyncpb.DocKind, body []byte) (int, any, *docrest.Error)

// docCall reads the body within docrest.MaxBody, checks the request's
// signature with the environment's secret (its actor holds it) and
// answers.
func (s *Server) docCall(kind opsyncpb.DocKind, h docHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := s.ctx(r)
		defer cancel()
		env := r.PathValue("env")
		if !ValidInstanceID(env) {
			writeDocError(w, docrest.NotFound("no environment "+strconv.Quote(env)))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, docrest.MaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeDocError(w, &docrest.Error{Status: http.StatusRequestEntityTooLarge, Code: docrest.CodeTooLarge, Msg: "the body is over " + strconv.Itoa(docrest.MaxBody) + " bytes"})
				return
			}
			writeDocError(w, docrest.BadRequest("the body could not be read"))
			return
		}
		ts := r.Header.Get(docrest.TimestampHeader)
		if derr := docrest.Fresh(ts, time.Now()); derr != nil {
			writeDocError(w, derr)
			return
		}
		sig := r.Header.Get(docrest.SignatureHeader)
		if sig == "" {
			writeDocError(w, docrest.Unauthorized("the request has no "+docrest.SignatureHeader))
			return
		}
		v, err := s.member.DocEnv(ctx, env, &opsyncpb.VerifyDocRequest{Message: docrest.SignedMessage(r.Method, r.URL.RequestURI(), ts, body), Signature: sig})
		switch {
		case err != nil:
			writeDocError(w, docrest.Unavailable(err.Error()))
			return
		case v.Code == actors.DocEnvBadSig || v.Code == actors.DocEnvNoSecret:
			writeDocError(w, docrest.Unauthorized(v.Detail))
			return
		case v.Code != "":
			writeDocError(w, docrest.Unavailable(v.Detail))
			return
		}
		status, data, derr := h(ctx, r, env, kind, body)
		if derr != nil {
			writeDocError(w, derr)
			return
		}
		if data == nil {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, data)
	}
}

func writeDocError(w http.ResponseWriter, e *docrest.Error) {
	writeJSON(w, e.Status, map[string]any{"message": e.Msg, "status_code": e.Status, "explanation": e.Code})
}

// documentID is the document a call names: ?document_id, else the
// body's (creates).
func documentID(r *http.Request, fromBody string) (string, *docrest.Error) {
	id := r.URL.Query().Get("document_id")
	if id == "" {
		id = fromBody
	}
	if id == "" {
		return "", docrest.BadRequest("document_id is required")
	}
	if !actors.ValidDocID(id) {
		return "", docrest.BadRequest("document_id must be 1-128 characters of A-Z, a-z, 0-9, '_', '-', '.'")
	}
	return id, nil
}

// ask sends a command to the document's actor and maps its refusal.
func (s *Server) docAsk(ctx context.Context, env string, cmd *opsyncpb.DocDataCommand) (*opsyncpb.DocDataAnswer, *docrest.Error) {
	res, err := s.member.DocData(ctx, env, cmd)
	if err != nil {
		return nil, docrest.Unavailable(err.Error())
	}
	if derr := docrest.AnswerError(res.Code, res.Detail); derr != nil {
		return nil, derr
	}
	return res, nil
}

func (s *Server) docCreate(ctx context.Context, r *http.Request, env string, kind opsyncpb.DocKind, body []byte) (int, any, *docrest.Error) {
	rec, derr := docrest.ParseRecord(kind, body)
	if derr != nil {
		return 0, nil, derr
	}
	doc, derr := documentID(r, docrest.BodyDocumentID(body))
	if derr != nil {
		return 0, nil, derr
	}
	if derr := docrest.EnsureID(rec, newDocID); derr != nil {
		return 0, nil, derr
	}
	if id := state.RecordID(rec); !actors.ValidDocID(id) {
		return 0, nil, docrest.BadRequest("id " + strconv.Quote(id) + " must be 1-128 characters of A-Z, a-z, 0-9, '_', '-', '.'")
	}
	res, derr := s.docAsk(ctx, env, &opsyncpb.DocDataCommand{DocumentId: doc, Action: opsyncpb.DocAction_DOC_ACTION_CREATE, Kind: kind, Record: rec})
	if derr != nil {
		return 0, nil, derr
	}
	return http.StatusCreated, docrest.RecordJSON(res.Records[0]), nil
}

func (s *Server) docUpdate(ctx context.Context, r *http.Request, env string, kind opsyncpb.DocKind, body []byte) (int, any, *docrest.Error) {
	rec, derr := docrest.ParseRecord(kind, body)
	if derr != nil {
		return 0, nil, derr
	}
	doc, id, derr := docTarget(r)
	if derr != nil {
		return 0, nil, derr
	}
	res, derr := s.docAsk(ctx, env, &opsyncpb.DocDataCommand{DocumentId: doc, Action: opsyncpb.DocAction_DOC_ACTION_UPDATE, Kind: kind, Id: id, Record: rec})
	if derr != nil {
		return 0, nil, derr
	}
	return http.StatusOK, docrest.RecordJSON(res.Records[0]), nil
}

// docTarget is the document and record id a per-record call names.
func docTarget(r *http.Request) (doc, id string, derr *docrest.Error) {
	if doc, derr = documentID(r, ""); derr != nil {
		return "", "", derr
	}
	id = r.PathValue("id")
	if !actors.ValidDocID(id) {
		return "", "", docrest.NotFound("no record " + strconv.Quote(id))
	}
	return doc, id, nil
}

func (s *Server) docGet(ctx context.Context, r *http.Request, env string, kind opsyncpb.DocKind, _ []byte) (int, any, *docrest.Error) {
	doc, id, derr := docTarget(r)
	if derr != nil {
		return 0, nil, derr
	}
	deleted, derr := boolParam(r, "include_deleted")
	if derr != nil {
		return 0, nil, derr
	}
	res, derr := s.docAsk(ctx, env, &opsyncpb.DocDataCommand{DocumentId: doc, Action: opsyncpb.DocAction_DOC_ACTION_GET, Kind: kind, Id: id, IncludeDeleted: deleted})
	if derr != nil {
		return 0, nil, derr
	}
	return http.StatusOK, docrest.RecordJSON(res.Records[0]), nil
}

func (s *Server) docList(ctx context.Context, r *http.Request, env string, kind opsyncpb.DocKind, _ []byte) (int, any, *docrest.Error) {
	doc, derr := documentID(r, "")
	if derr != nil {
		return 0, nil, derr
	}
	q := r.URL.Query()
	limit := docrest.MaxLimit
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > docrest.MaxLimit {
			return 0, nil, docrest.BadRequest("limit must be 1 to " + strconv.Itoa(docrest.MaxLimit))
		}
		limit = n
	}
	deleted, derr := boolParam(r, "include_deleted")
	if derr != nil {
		return 0, nil, derr
	}
	res, derr := s.docAsk(ctx, env, &opsyncpb.DocDataCommand{DocumentId: doc, Action: opsyncpb.DocAction_DOC_ACTION_LIST, Kind: kind,
		ThreadId: q.Get("thread_id"), IncludeDeleted: deleted, Limit: uint32(limit), Cursor: q.Get("cursor")})
	if derr != nil {
		return 0, nil, derr
	}
	data := make([]any, len(res.Records))
	for i, rec := range res.Records {
		data[i] = docrest.RecordJSON(rec)
	}
	var next any
	if res.NextCursor != "" {
		next = res.NextCursor
	}
	return http.StatusOK, map[string]any{"data": data, "next_cursor": next}, nil
}

// docAction is a change of one record that carries no body: delete
// (?force=true: for good), restore, resolve, reopen, accept, reject.
func (s *Server) docAction(action opsyncpb.DocAction) docHandler {
	return func(ctx context.Context, r *http.Request, env string, kind opsyncpb.DocKind, _ []byte) (int, any, *docrest.Error) {
		doc, id, derr := docTarget(r)
		if derr != nil {
			return 0, nil, derr
		}
		force, derr := boolParam(r, "force")
		if derr != nil {
			return 0, nil, derr
		}
		res, derr := s.docAsk(ctx, env, &opsyncpb.DocDataCommand{DocumentId: doc, Action: action, Kind: kind, Id: id, Force: force})
		if derr != nil {
			return 0, nil, derr
		}
		if len(res.Records) == 0 {
			return http.StatusNoContent, nil, nil
		}
		return http.StatusOK, docrest.RecordJSON(res.Records[0]), nil
	}
}

// docRemoveDocument removes everything of a document (its permanent
// data and its session; ?force=true is the only form: a document has no
// soft deletion).
func (s *Server) docRemoveDocument(ctx context.Context, r *http.Request, env string, _ opsyncpb.DocKind, _ []byte) (int, any, *docrest.Error) {
	doc := r.PathValue("id")
	if !actors.ValidDocID(doc) {
		return 0, nil, docrest.NotFound("no document " + strconv.Quote(doc))
	}
	if force, derr := boolParam(r, "force"); derr != nil || !force {
		return 0, nil, docrest.BadRequest("a document is removed for good only: DELETE documents/{id}?force=true")
	}
	if _, derr := s.docAsk(ctx, env, &opsyncpb.DocDataCommand{DocumentId: doc, Action: opsyncpb.DocAction_DOC_ACTION_REMOVE_DOCUMENT}); derr != nil {
		return 0, nil, derr
	}
	// Its live session too (a call again does the rest: both steps are
	// idempotent).
	if c, err := s.member.EndDocumentSession(ctx, env, doc, actors.EndDocumentRemoved); err != nil || c.Code != "" {
		msg := c.GetDetail()
		if err != nil {
			msg = err.Error()
		}
		return 0, nil, docrest.Unavailable(msg)
	}
	return http.StatusNoContent, nil, nil
}

func boolParam(r *http.Request, name string) (bool, *docrest.Error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, docrest.BadRequest(name + " must be true or false")
	}
	return b, nil
}

// newDocID is the id of a record created without one: 128 random bits.
func newDocID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// docSecretRotate issues the environment a new REST API secret, shown
// once: {"secret", "secret_prefix", "set_at"}.
func (s *Server) docSecretRotate(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
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
	res, err := s.member.DocEnv(ctx, instance, &opsyncpb.RotateDocSecret{})
	if err == nil && res.Destroyed {
		writeError(w, http.StatusNotFound, "NOT_FOUND", res.Detail)
		return
	}
	if err != nil || res.Code != "" {
		msg := res.GetDetail()
		if err != nil {
			msg = err.Error()
		}
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", msg)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"environment_id": instance, "secret": res.Secret, "secret_prefix": res.SecretPrefix, "set_at": res.SecretSetAt})
}

// docEnvGet answers the environment's document config, without secret.
func (s *Server) docEnvGet(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := s.member.DocEnv(ctx, instance, &opsyncpb.GetDocEnv{})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"environment_id": instance, "secret_prefix": res.SecretPrefix, "secret_set_at": res.SecretSetAt, "deleted": res.Destroyed})
}
