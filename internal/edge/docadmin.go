package edge

import (
	"context"
	"net/http"
	"strconv"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/docrest"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// The records view of a document (admin API): what the console shows of
// it, its threads, comments, suggestions, revisions and users and its live
// collaboration session, under the admin token. The documents REST API
// reads the same records but is signed with the environment's API secret,
// which belongs to the instance's backend, not to the operator. Read only:
// it asks the document's actors as the backend (acting user "") through the
// same cluster calls the REST API makes.

// docAdminKinds are the lists of the view, by their JSON name, in the order
// they are read.
var docAdminKinds = []struct {
	name string
	kind opsyncpb.DocKind
}{
	{"threads", opsyncpb.DocKind_DOC_KIND_THREAD},
	{"comments", opsyncpb.DocKind_DOC_KIND_COMMENT},
	{"suggestions", opsyncpb.DocKind_DOC_KIND_SUGGESTION},
	{"revisions", opsyncpb.DocKind_DOC_KIND_REVISION},
	{"users", opsyncpb.DocKind_DOC_KIND_USER},
}

func (s *Server) routeDocAdmin() {
	s.mux.HandleFunc("GET /api/v1/instances/{instance}/documents/{document}", s.adminDocument)
}

func (s *Server) adminDocument(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	doc := r.PathValue("document")
	if !actors.ValidDocID(doc) {
		writeError(w, http.StatusBadRequest, "INVALID", "documentId must be 1-128 characters of A-Z, a-z, 0-9, '_', '-', '.'")
		return
	}
	deleted, derr := boolParam(r, "include_deleted")
	if derr != nil {
		writeError(w, http.StatusBadRequest, "INVALID", derr.Msg)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	// The instance first: reading a document of an instance that does not
	// exist would otherwise answer empty lists, as for a document without
	// records.
	inst, err := s.member.InstanceCommand(ctx, instance, &opsyncpb.GetInstance{})
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	case inst.Code == actors.ConfigInstanceNotFound:
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no instance "+strconv.Quote(instance))
		return
	case inst.Code != actors.ConfigOK:
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", inst.Message)
		return
	}

	out := map[string]any{"environment_id": instance, "document_id": doc, "include_deleted": deleted}
	truncated := map[string]bool{}
	for _, k := range docAdminKinds {
		recs, more, derr := s.docAdminList(ctx, instance, doc, k.kind, deleted)
		if derr != nil {
			status, code := derr.Status, "UNAVAILABLE"
			switch status {
			case http.StatusNotFound:
				code = "NOT_FOUND" // the instance's data was deleted meanwhile
			case http.StatusBadRequest:
				code = "INVALID"
			default:
				status = http.StatusServiceUnavailable
			}
			writeError(w, status, code, derr.Msg)
			return
		}
		out[k.name] = recs
		truncated[k.name] = more
	}
	out["truncated"] = truncated

	c, err := s.member.DocumentCollaboration(ctx, instance, doc)
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	case c.Code != "":
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", c.Detail)
		return
	case c.Exists:
		out["session"] = docAdminSession(doc, c)
	default:
		out["session"] = nil
	}
	writeJSON(w, http.StatusOK, out)
}

// docAdminList is the first docrest.MaxLimit records of kind as the REST
// API answers them (threads with "resolved" too), and whether there are
// more. One page only: the view is for looking at a document, and its
// size stays bounded whatever the document holds.
func (s *Server) docAdminList(ctx context.Context, instance, doc string, kind opsyncpb.DocKind, deleted bool) ([]map[string]any, bool, *docrest.Error) {
	res, derr := s.docAsk(ctx, instance, &opsyncpb.DocDataCommand{DocumentId: doc, Action: opsyncpb.DocAction_DOC_ACTION_LIST, Kind: kind,
		IncludeDeleted: deleted, Limit: docrest.MaxLimit})
	if derr != nil {
		return nil, false, derr
	}
	out := make([]map[string]any, 0, len(res.Records))
	for _, rec := range res.Records {
		j := docrest.RecordJSON(rec)
		if t := rec.GetThread(); t != nil {
			j["resolved"] = t.ResolvedAt != 0
		}
		if state.DeletedAt(rec) != 0 {
			j["deleted"] = true
		}
		out = append(out, j)
	}
	return out, res.NextCursor != "", nil
}

// docAdminSession is the live session as GET collaborations/{id} answers
// it, without its snapshot's data (opaque to the console, and as large as
// the document): the snapshot's version and size only.
func docAdminSession(doc string, c *opsyncpb.DocumentCollaboration) map[string]any {
	j := docrest.CollaborationJSON(doc, &opsyncpb.DocumentCollaboration{Exists: c.Exists, Version: c.Version, Users: c.Users, Ops: c.Ops, UpdatedAt: c.UpdatedAt})
	if snap := c.Snapshot; snap != nil {
		j["snapshot"] = map[string]any{"version": snap.Version, "bytes": len(snap.Data)}
	}
	return j
}
