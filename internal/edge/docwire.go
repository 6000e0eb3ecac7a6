package edge

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/docrest"
	"github.com/opsync/opsync/internal/document"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A document's permanent records over the client WebSocket (DocumentData
// frames, answered by DocumentDataAnswer): an editor reads the threads,
// comments and suggestions of a document it has open and changes its own.
// The command goes to the document's permanent-data actor as the REST
// API's do, but with acting_user set to the connection's user, so that
// the actor's own rule refuses another user's record (FORBIDDEN). What
// the token's role allows is checked here (internal/document).

// docRecords handles one connection's DocumentData frames.
type docRecords struct {
	docConn
	// open: the documents this connection opened (an Open the token gives
	// a role on). connLimits bounds them with every open source.
	open map[string]struct{}
}

func newDocRecords(dc docConn) *docRecords {
	return &docRecords{docConn: dc, open: map[string]struct{}{}}
}

// frame handles f if it is a DocumentData frame, or the Open of a
// document's records the token gives no role on (answered FORBIDDEN with
// request id 0, not opened); it notes the Open and Close of documents on
// the way (they go on to the client actor). The error is the
// connection's: it is gone.
func (d *docRecords) frame(ctx context.Context, f *opsyncpb.ClientFrame) (bool, error) {
	switch m := f.Frame.(type) {
	case *opsyncpb.ClientFrame_Open:
		role := d.role(m.Open.Id)
		if m.Open.Kind == document.StateKind && role != document.None {
			d.open[m.Open.Id] = struct{}{}
		}
		if m.Open.Kind == document.RecordsStateKind && role == document.None {
			// Not passed on: the changes of the records are not this
			// connection's to see.
			a := refusal(state.DocForbidden, "the token gives no role on this document")
			a.DocumentId = m.Open.Id
			return true, d.send(a)
		}
	case *opsyncpb.ClientFrame_Close:
		if m.Close.Kind == document.StateKind {
			delete(d.open, m.Close.Id)
		}
	case *opsyncpb.ClientFrame_DocumentData:
		a := d.answer(ctx, m.DocumentData)
		a.RequestId, a.DocumentId = m.DocumentData.RequestId, m.DocumentData.DocumentId
		return true, d.send(a)
	}
	return false, nil
}

func (d *docRecords) send(a *opsyncpb.DocumentDataAnswer) error {
	return d.conn.Send(&opsyncpb.ServerFrame{Frame: &opsyncpb.ServerFrame_DocumentDataAnswer{DocumentDataAnswer: a}})
}

func refusal(code, detail string) *opsyncpb.DocumentDataAnswer {
	return &opsyncpb.DocumentDataAnswer{Code: code, Detail: detail}
}

// answer checks the request and asks the document's actor.
func (d *docRecords) answer(ctx context.Context, m *opsyncpb.DocumentData) *opsyncpb.DocumentDataAnswer {
	if _, ok := d.open[m.DocumentId]; !ok {
		return refusal(document.CodeNotOpen, "document "+strconv.Quote(m.DocumentId)+" is not open on this connection: open it first")
	}
	if err := d.role(m.DocumentId).CheckRecordAction(m.Action, m.Kind); err != nil {
		return refusal(state.DocForbidden, err.Error())
	}
	cmd := &opsyncpb.DocDataCommand{DocumentId: m.DocumentId, ActingUser: d.user, Action: m.Action, Kind: m.Kind, Id: m.RecordId,
		Record: m.Record, IncludeDeleted: m.IncludeDeleted, ThreadId: m.ThreadId, Limit: m.Limit, Cursor: m.Cursor}
	switch m.Action {
	case opsyncpb.DocAction_DOC_ACTION_GET:
	case opsyncpb.DocAction_DOC_ACTION_LIST:
		if m.Limit > docrest.MaxLimit {
			return refusal(state.DocInvalid, "limit must be at most "+strconv.Itoa(docrest.MaxLimit)+" (0: that many)")
		}
		if m.ThreadId != "" && !actors.ValidDocID(m.ThreadId) {
			return refusal(state.DocNotFound, "no thread "+strconv.Quote(m.ThreadId))
		}
		cmd.Id = ""
	default:
		// A change: acting_user "" would be the backend, who may change
		// anyone's records; a connection without a user changes none.
		if d.user == "" {
			return refusal(state.DocForbidden, "a connection without a user changes no records")
		}
	}
	if m.Record != nil && !jsonFieldsValid(m.Record) {
		return refusal(state.DocInvalid, "context, attributes and data are JSON texts (or empty)")
	}
	if m.Action == opsyncpb.DocAction_DOC_ACTION_CREATE {
		if state.KindOf(m.Record) != m.Kind {
			return refusal(state.DocInvalid, "a create carries the record's fields, of the kind it names")
		}
		if derr := docrest.EnsureID(cmd.Record, newDocID); derr != nil {
			return refusal(state.DocInvalid, derr.Msg)
		}
		if id := state.RecordID(cmd.Record); !actors.ValidDocID(id) {
			return refusal(state.DocInvalid, "id "+strconv.Quote(id)+" must be 1-128 characters of A-Z, a-z, 0-9, '_', '-', '.'")
		}
		cmd.Id = ""
	} else if m.Action != opsyncpb.DocAction_DOC_ACTION_LIST && !actors.ValidDocID(m.RecordId) {
		return refusal(state.DocNotFound, "no record "+strconv.Quote(m.RecordId)+" in document "+strconv.Quote(m.DocumentId))
	}
	rctx, cancel := context.WithTimeout(ctx, d.s.opts.RequestTimeout)
	defer cancel()
	res, err := d.s.member.DocData(rctx, d.instance, cmd)
	if err != nil {
		// The change may have been made: the editor reads the record (a
		// create sent again with the id it names is refused, CONFLICT).
		d.s.opts.Logger.Warn("document data unavailable", slog.String("instance", d.instance), slog.String("document", m.DocumentId), slog.Any("err", err))
		return refusal(actors.DocDataSystemError, "the document's data did not answer")
	}
	return &opsyncpb.DocumentDataAnswer{Code: res.Code, Detail: res.Detail, Records: res.Records, NextCursor: res.NextCursor}
}

// jsonFieldsValid reports whether a record's JSON fields hold JSON: the
// REST API and webhooks answer them as JSON values, which a client's
// malformed text would break for everyone reading the record.
func jsonFieldsValid(r *opsyncpb.DocRecord) bool {
	var texts []string
	switch k := r.Kind.(type) {
	case *opsyncpb.DocRecord_Thread:
		texts = []string{k.Thread.Context, k.Thread.Attributes}
	case *opsyncpb.DocRecord_Comment:
		texts = []string{k.Comment.Attributes}
	case *opsyncpb.DocRecord_Suggestion:
		texts = []string{k.Suggestion.Data, k.Suggestion.Attributes}
	}
	for _, t := range texts {
		if t != "" && !json.Valid([]byte(t)) {
			return false
		}
	}
	return true
}

// checkDocumentData checks the document id a DocumentData frame names,
// as checkDocumentFrame does those of operations.
func checkDocumentData(m *opsyncpb.DocumentData) error {
	if !document.ValidID(m.DocumentId) {
		return protocolErr(CloseBadFrame, "document data: invalid document id %q", m.DocumentId)
	}
	return nil
}
