package edge

import (
	"context"
	"log/slog"

	"github.com/opsync/opsync/internal/document"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Collaborative documents over the client WebSocket: a document is opened
// like any state source (Open kind "document": the client actor attaches
// to its session and passes its updates on), and the editor's operations
// and snapshots (DocumentOps, DocumentSnapshot frames) go to the session
// as requests whose answers (DocumentAnswer) come back on the connection.
// The token's role on the document decides what the connection may do.

// DocumentSessions is what the edge asks of the cluster for documents.
type DocumentSessions interface {
	SubmitDocumentOps(ctx context.Context, instanceID, documentID string, msg *opsyncpb.SubmitDocumentOps) (*opsyncpb.DocumentAnswer, error)
	SubmitDocumentSnapshot(ctx context.Context, instanceID, documentID string, msg *opsyncpb.SubmitDocumentSnapshot) (*opsyncpb.DocumentAnswer, error)
	DocumentSession(ctx context.Context, instanceID, documentID string) (*opsyncpb.DocumentSessionInfo, error)
	// The REST API's collaborations/{id} (docrest_collab.go).
	DocumentCollaboration(ctx context.Context, instanceID, documentID string) (*opsyncpb.DocumentCollaboration, error)
	EndDocumentSession(ctx context.Context, instanceID, documentID, reason string) (*opsyncpb.DocumentCollaboration, error)
}

// docConn is who a connection is to its documents: its instance, its
// user and the roles its token gives, shared by its session frames
// (documentEditor) and its record frames (docRecords, docwire.go).
type docConn struct {
	s        *Server
	instance string
	user     string
	roles    map[string]string
	rolesSet bool
	conn     *clientConn
}

func (s *Server) docConnOf(c *opsyncpb.Connect, g clientGrant, conn *clientConn) docConn {
	return docConn{s: s, instance: c.InstanceId, user: c.UserId, roles: g.docRoles, rolesSet: g.docRolesSet, conn: conn}
}

func (d docConn) role(id string) document.Role {
	return document.RoleOf(d.roles, d.rolesSet, id)
}

// documentEditor handles one connection's document frames.
type documentEditor struct {
	docConn
}

// frame handles f if it is the editor's: a document frame, or the Open
// of a document the token gives no role on (answered FORBIDDEN, not
// opened). The error is the connection's: it is gone.
func (d *documentEditor) frame(ctx context.Context, f *opsyncpb.ClientFrame) (bool, error) {
	switch m := f.Frame.(type) {
	case *opsyncpb.ClientFrame_Open:
		if m.Open.Kind != document.StateKind || d.role(m.Open.Id) != document.None {
			return false, nil
		}
		return true, d.answer(&opsyncpb.DocumentAnswer{DocumentId: m.Open.Id, Code: document.CodeForbidden,
			Detail: "the token gives no role on this document"})
	case *opsyncpb.ClientFrame_DocumentOps:
		o := m.DocumentOps
		if !d.role(o.DocumentId).CanSendOps() {
			return true, d.answer(&opsyncpb.DocumentAnswer{DocumentId: o.DocumentId, RequestId: o.RequestId, Code: document.CodeForbidden,
				Detail: "the token's role on this document does not allow operations (reader, or none)"})
		}
		rctx, cancel := context.WithTimeout(ctx, d.s.opts.RequestTimeout)
		defer cancel()
		res, err := d.s.member.SubmitDocumentOps(rctx, d.instance, o.DocumentId, &opsyncpb.SubmitDocumentOps{UserId: d.user, BaseVersion: o.BaseVersion, Ops: o.Ops})
		return true, d.reply(o.DocumentId, o.RequestId, res, err)
	case *opsyncpb.ClientFrame_DocumentSnapshot:
		o := m.DocumentSnapshot
		if !d.role(o.DocumentId).CanSnapshot() {
			return true, d.answer(&opsyncpb.DocumentAnswer{DocumentId: o.DocumentId, RequestId: o.RequestId, Code: document.CodeForbidden,
				Detail: "only a writer may send a snapshot of this document"})
		}
		rctx, cancel := context.WithTimeout(ctx, d.s.opts.RequestTimeout)
		defer cancel()
		res, err := d.s.member.SubmitDocumentSnapshot(rctx, d.instance, o.DocumentId, &opsyncpb.SubmitDocumentSnapshot{UserId: d.user,
			Snapshot: &opsyncpb.DocSnapshot{Version: o.Version, Data: o.Data}})
		return true, d.reply(o.DocumentId, o.RequestId, res, err)
	}
	return false, nil
}

// reply passes the session's answer on, or a SYSTEM_ERROR for a session
// that did not answer (the editor sends again; nothing was accepted
// twice: an accepted batch is at a version the editor then sees).
func (d *documentEditor) reply(id string, request uint64, res *opsyncpb.DocumentAnswer, err error) error {
	if err != nil {
		d.s.opts.Logger.Warn("document session unavailable", slog.String("instance", d.instance), slog.String("document", id), slog.Any("err", err))
		res = &opsyncpb.DocumentAnswer{Code: document.CodeSystemError, Detail: "the document session did not answer"}
	}
	res.DocumentId, res.RequestId = id, request
	return d.answer(res)
}

func (d *documentEditor) answer(a *opsyncpb.DocumentAnswer) error {
	return d.conn.Send(&opsyncpb.ServerFrame{Frame: &opsyncpb.ServerFrame_DocumentAnswer{DocumentAnswer: a}})
}

// checkDocumentFrame checks the document id a document frame names; the
// sizes are the session's to refuse (with a clear answer, not a closed
// connection).
func checkDocumentFrame(f *opsyncpb.ClientFrame) error {
	id := f.GetDocumentOps().GetDocumentId()
	if s := f.GetDocumentSnapshot(); s != nil {
		id = s.DocumentId
	}
	if !document.ValidID(id) {
		return protocolErr(CloseBadFrame, "document: invalid document id %q", id)
	}
	return nil
}
