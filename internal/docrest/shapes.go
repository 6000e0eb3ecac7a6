package docrest

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// MaxBody bounds a REST request's body.
const MaxBody = 1 << 20

// MaxLimit is the largest page a list answers.
const MaxLimit = 1000

// Resources are the REST v5 collections of a document's permanent data,
// by path segment.
var Resources = map[string]opsyncpb.DocKind{
	"users":       opsyncpb.DocKind_DOC_KIND_USER,
	"threads":     opsyncpb.DocKind_DOC_KIND_THREAD,
	"comments":    opsyncpb.DocKind_DOC_KIND_COMMENT,
	"suggestions": opsyncpb.DocKind_DOC_KIND_SUGGESTION,
	"revisions":   opsyncpb.DocKind_DOC_KIND_REVISION,
}

// recordJSON is every field a record of any kind has on the wire; each
// kind answers its own (see RecordJSON). JSON fields (attributes, context,
// data) travel as JSON values and are stored as their text.
type recordJSON struct {
	ID          string          `json:"id,omitempty"`
	DocumentID  string          `json:"document_id,omitempty"`
	ThreadID    string          `json:"thread_id,omitempty"`
	UserID      string          `json:"user_id,omitempty"`
	AuthorID    string          `json:"author_id,omitempty"`
	Name        string          `json:"name,omitempty"`
	Avatar      string          `json:"avatar,omitempty"`
	Content     string          `json:"content,omitempty"`
	Type        string          `json:"type,omitempty"`
	State       string          `json:"state,omitempty"`
	HasComments bool            `json:"has_comments,omitempty"`
	FromVersion uint64          `json:"from_version,omitempty"`
	ToVersion   uint64          `json:"to_version,omitempty"`
	AuthorsIDs  []string        `json:"authors_ids,omitempty"`
	Attributes  json.RawMessage `json:"attributes,omitempty"`
	Context     json.RawMessage `json:"context,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// ParseRecord reads a create or update body of kind.
func ParseRecord(kind opsyncpb.DocKind, body []byte) (*opsyncpb.DocRecord, *Error) {
	var j recordJSON
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil || dec.More() {
		msg := "the body must be one JSON object"
		if err != nil {
			msg += ": " + err.Error()
		}
		return nil, BadRequest(msg)
	}
	text := func(raw json.RawMessage) string {
		if len(raw) == 0 || string(raw) == "null" {
			return ""
		}
		return string(raw)
	}
	switch kind {
	case opsyncpb.DocKind_DOC_KIND_USER:
		return &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_User{User: &opsyncpb.DocUser{Id: j.ID, Name: j.Name, Avatar: j.Avatar}}}, nil
	case opsyncpb.DocKind_DOC_KIND_THREAD:
		return &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Thread{Thread: &opsyncpb.DocThread{Id: j.ID, Context: text(j.Context), Attributes: text(j.Attributes), AuthorId: j.AuthorID}}}, nil
	case opsyncpb.DocKind_DOC_KIND_COMMENT:
		return &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Comment{Comment: &opsyncpb.DocComment{Id: j.ID, ThreadId: j.ThreadID, UserId: j.UserID, Content: j.Content, Attributes: text(j.Attributes)}}}, nil
	case opsyncpb.DocKind_DOC_KIND_SUGGESTION:
		return &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Suggestion{Suggestion: &opsyncpb.DocSuggestion{Id: j.ID, UserId: j.UserID, Type: j.Type, Data: text(j.Data), Attributes: text(j.Attributes), HasComments: j.HasComments}}}, nil
	case opsyncpb.DocKind_DOC_KIND_REVISION:
		return &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Revision{Revision: &opsyncpb.DocRevision{Id: j.ID, Name: j.Name, FromVersion: j.FromVersion, ToVersion: j.ToVersion, AuthorsIds: j.AuthorsIDs, Attributes: text(j.Attributes)}}}, nil
	}
	return nil, BadRequest("unknown resource")
}

// RecordJSON is a record as the API answers it: times in ISO 8601 (UTC,
// ms), deleted_at and resolved_at null when unset.
func RecordJSON(r *opsyncpb.DocRecord) map[string]any {
	raw := func(s string) any {
		if s == "" {
			return nil
		}
		return json.RawMessage(s)
	}
	at := func(ms int64) any {
		if ms == 0 {
			return nil
		}
		return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	switch k := r.Kind.(type) {
	case *opsyncpb.DocRecord_User:
		u := k.User
		return map[string]any{"id": u.Id, "name": u.Name, "avatar": u.Avatar, "created_at": at(u.CreatedAt), "updated_at": at(u.UpdatedAt)}
	case *opsyncpb.DocRecord_Thread:
		t := k.Thread
		return map[string]any{"id": t.Id, "document_id": t.DocumentId, "context": raw(t.Context), "attributes": raw(t.Attributes), "author_id": t.AuthorId,
			"created_at": at(t.CreatedAt), "updated_at": at(t.UpdatedAt), "resolved_at": at(t.ResolvedAt), "resolved_by": t.ResolvedBy, "deleted_at": at(t.DeletedAt)}
	case *opsyncpb.DocRecord_Comment:
		c := k.Comment
		return map[string]any{"id": c.Id, "document_id": c.DocumentId, "thread_id": c.ThreadId, "content": c.Content, "attributes": raw(c.Attributes),
			"user": map[string]any{"id": c.UserId}, "created_at": at(c.CreatedAt), "updated_at": at(c.UpdatedAt), "deleted_at": at(c.DeletedAt)}
	case *opsyncpb.DocRecord_Suggestion:
		s := k.Suggestion
		return map[string]any{"id": s.Id, "document_id": s.DocumentId, "type": s.Type, "data": raw(s.Data), "attributes": raw(s.Attributes), "state": s.State,
			"has_comments": s.HasComments, "author_id": s.UserId, "created_at": at(s.CreatedAt), "updated_at": at(s.UpdatedAt), "deleted_at": at(s.DeletedAt)}
	case *opsyncpb.DocRecord_Revision:
		v := k.Revision
		return map[string]any{"id": v.Id, "document_id": v.DocumentId, "name": v.Name, "from_version": v.FromVersion, "to_version": v.ToVersion,
			"authors_ids": v.AuthorsIds, "attributes": raw(v.Attributes), "created_at": at(v.CreatedAt), "updated_at": at(v.UpdatedAt), "deleted_at": at(v.DeletedAt)}
	}
	return nil
}

// BodyDocumentID is the document_id a create body names ("" none).
func BodyDocumentID(body []byte) string {
	var j struct {
		DocumentID string `json:"document_id"`
	}
	_ = json.Unmarshal(body, &j)
	return j.DocumentID
}

// EnsureID gives a record created without an id a new one; a user needs
// its own.
func EnsureID(r *opsyncpb.DocRecord, newID func() string) *Error {
	switch k := r.Kind.(type) {
	case *opsyncpb.DocRecord_User:
		if k.User.Id == "" {
			return BadRequest("a user needs its id")
		}
	case *opsyncpb.DocRecord_Thread:
		if k.Thread.Id == "" {
			k.Thread.Id = newID()
		}
	case *opsyncpb.DocRecord_Comment:
		if k.Comment.Id == "" {
			k.Comment.Id = newID()
		}
	case *opsyncpb.DocRecord_Suggestion:
		if k.Suggestion.Id == "" {
			k.Suggestion.Id = newID()
		}
	case *opsyncpb.DocRecord_Revision:
		if k.Revision.Id == "" {
			k.Revision.Id = newID()
		}
	}
	return nil
}
