package edge

import (
	"context"
	"net/http"
	"strconv"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/docrest"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// The REST API's collaborations: a document's live session. GET answers
// its version, connected users and latest snapshot; DELETE ends it (its
// editors are told and detached, its data removed, the webhook
// collaboration.document.removed sent). Both answer 404 when the document
// has no session.

func (s *Server) routeDocCollaborations() {
	const base = "/api/v5/{env}/collaborations/{id}"
	s.mux.HandleFunc("GET "+base, s.docCall(0, s.docCollaborationGet))
	s.mux.HandleFunc("DELETE "+base, s.docCall(0, s.docCollaborationEnd))
}

func collaborationTarget(r *http.Request) (string, *docrest.Error) {
	doc := r.PathValue("id")
	if !actors.ValidDocID(doc) {
		return "", docrest.NotFound("no collaboration session of document " + strconv.Quote(doc))
	}
	return doc, nil
}

func (s *Server) docCollaborationGet(ctx context.Context, r *http.Request, env string, _ opsyncpb.DocKind, _ []byte) (int, any, *docrest.Error) {
	doc, derr := collaborationTarget(r)
	if derr != nil {
		return 0, nil, derr
	}
	c, err := s.member.DocumentCollaboration(ctx, env, doc)
	if err != nil {
		return 0, nil, docrest.Unavailable(err.Error())
	}
	if !c.Exists {
		return 0, nil, docrest.NotFound("document " + strconv.Quote(doc) + " has no collaboration session")
	}
	return http.StatusOK, docrest.CollaborationJSON(doc, c), nil
}

func (s *Server) docCollaborationEnd(ctx context.Context, r *http.Request, env string, _ opsyncpb.DocKind, _ []byte) (int, any, *docrest.Error) {
	doc, derr := collaborationTarget(r)
	if derr != nil {
		return 0, nil, derr
	}
	c, err := s.member.EndDocumentSession(ctx, env, doc, actors.EndDeleted)
	if err != nil {
		return 0, nil, docrest.Unavailable(err.Error())
	}
	if c.Code != "" {
		return 0, nil, docrest.Unavailable(c.Detail)
	}
	if !c.Exists {
		return 0, nil, docrest.NotFound("document " + strconv.Quote(doc) + " has no collaboration session")
	}
	return http.StatusNoContent, nil, nil
}
