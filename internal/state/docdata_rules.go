package state

import (
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// The rules of a document's permanent data: what each command may
// change, and the event that records it. Over the client protocol
// (acting_user set) only a comment's, suggestion's or thread's author
// changes, deletes or restores it (anyone resolves and reopens a thread); the backend (REST, acting_user "") may do all. A deletion
// only marks a record unless forced; a restore clears the mark; a
// resolved thread is in the comment archive until reopened or removed.

// Suggestion states.
const (
	SuggestionOpen     = "open"
	SuggestionAccepted = "accepted"
	SuggestionRejected = "rejected"
)

// Decide checks cmd (a change, not a read) against the state at now and
// returns the event that makes it, or why it is refused.
func (d *DocData) Decide(cmd *opsyncpb.DocDataCommand, now int64) (*opsyncpb.DocDataEvent, *DocRefusal) {
	ev, ref := d.decide(cmd, now)
	if ref != nil {
		return nil, ref
	}
	grow := 0
	for _, r := range ev.Put {
		grow += proto.Size(r)
		if prev, ok := d.records[docKey{KindOf(r), RecordID(r)}]; ok {
			grow -= proto.Size(prev)
		}
	}
	if grow > 0 && d.bytes+grow > MaxDocBytes {
		return nil, refuse(DocTooMany, "document %q holds %d bytes of records, the most one may keep is %d", cmd.DocumentId, d.bytes, MaxDocBytes)
	}
	return ev, nil
}

func (d *DocData) decide(cmd *opsyncpb.DocDataCommand, now int64) (*opsyncpb.DocDataEvent, *DocRefusal) {
	switch cmd.Action {
	case opsyncpb.DocAction_DOC_ACTION_REMOVE_DOCUMENT:
		if cmd.ActingUser != "" {
			return nil, refuse(DocForbidden, "only the backend removes a document")
		}
		return &opsyncpb.DocDataEvent{DocumentRemoved: true}, nil
	case opsyncpb.DocAction_DOC_ACTION_CREATE:
		return d.create(cmd, now)
	}
	prev, ok := d.records[docKey{cmd.Kind, cmd.Id}]
	if !ok {
		return nil, refuse(DocNotFound, "no %s %q in document %q", kindName(cmd.Kind), cmd.Id, cmd.DocumentId)
	}
	deleted := DeletedAt(prev) != 0
	if a := Author(prev); cmd.ActingUser != "" && a != "" && a != cmd.ActingUser && ownerOnly(cmd.Action) {
		return nil, refuse(DocForbidden, "%s %q is %s's: only its author may change or delete it", kindName(cmd.Kind), cmd.Id, a)
	}
	r := proto.Clone(prev).(*opsyncpb.DocRecord)
	switch cmd.Action {
	case opsyncpb.DocAction_DOC_ACTION_UPDATE:
		if deleted {
			return nil, refuse(DocNotFound, "%s %q is deleted: restore it first", kindName(cmd.Kind), cmd.Id)
		}
		if KindOf(cmd.Record) != cmd.Kind {
			return nil, refuse(DocInvalid, "an update of a %s carries a %s", kindName(cmd.Kind), kindName(KindOf(cmd.Record)))
		}
		merge(r, cmd.Record)
		setTimes(r, createdAt(prev), now)
		return put(r), nil
	case opsyncpb.DocAction_DOC_ACTION_DELETE:
		if cmd.Force {
			ev := &opsyncpb.DocDataEvent{Removed: []*opsyncpb.DocRecordRemoved{{Kind: cmd.Kind, Id: cmd.Id}}}
			if cmd.Kind == opsyncpb.DocKind_DOC_KIND_THREAD {
				// A thread removed for good takes its comments along.
				for k, c := range d.records {
					if threadOf(c) == cmd.Id {
						ev.Removed = append(ev.Removed, &opsyncpb.DocRecordRemoved{Kind: k.kind, Id: k.id})
					}
				}
			}
			return ev, nil
		}
		if cmd.Kind == opsyncpb.DocKind_DOC_KIND_USER {
			return nil, refuse(DocInvalid, "a user is removed for good only (force=true)")
		}
		if deleted {
			return nil, refuse(DocNotFound, "%s %q is deleted already", kindName(cmd.Kind), cmd.Id)
		}
		setDeleted(r, now)
		return put(r), nil
	case opsyncpb.DocAction_DOC_ACTION_RESTORE:
		if !deleted {
			return nil, refuse(DocConflict, "%s %q is not deleted", kindName(cmd.Kind), cmd.Id)
		}
		setDeleted(r, 0)
		if s := r.GetSuggestion(); s != nil {
			s.State = SuggestionOpen
		}
		return put(r), nil
	case opsyncpb.DocAction_DOC_ACTION_RESOLVE, opsyncpb.DocAction_DOC_ACTION_REOPEN:
		t := r.GetThread()
		if t == nil {
			return nil, refuse(DocInvalid, "only threads are resolved and reopened")
		}
		if deleted {
			return nil, refuse(DocNotFound, "thread %q is removed", cmd.Id)
		}
		resolve := cmd.Action == opsyncpb.DocAction_DOC_ACTION_RESOLVE
		if resolve == (t.ResolvedAt != 0) {
			return nil, refuse(DocConflict, "thread %q is %s already", cmd.Id, map[bool]string{true: "resolved", false: "open"}[resolve])
		}
		if resolve {
			t.ResolvedAt, t.ResolvedBy = now, cmd.ActingUser
		} else {
			t.ResolvedAt, t.ResolvedBy = 0, ""
		}
		t.UpdatedAt = now
		return put(r), nil
	case opsyncpb.DocAction_DOC_ACTION_ACCEPT, opsyncpb.DocAction_DOC_ACTION_REJECT:
		s := r.GetSuggestion()
		if s == nil {
			return nil, refuse(DocInvalid, "only suggestions are accepted and rejected")
		}
		if deleted || s.State != SuggestionOpen {
			return nil, refuse(DocConflict, "suggestion %q is not open (%s)", cmd.Id, s.State)
		}
		s.State = SuggestionAccepted
		if cmd.Action == opsyncpb.DocAction_DOC_ACTION_REJECT {
			s.State = SuggestionRejected
		}
		// Accepted or rejected, a suggestion is only marked deleted: a
		// restore opens it again.
		s.DeletedAt, s.UpdatedAt = now, now
		return put(r), nil
	}
	return nil, refuse(DocInvalid, "action %s is not a change", cmd.Action)
}

// ownerOnly: the actions only a record's author takes over the client
// protocol (accepting and rejecting a suggestion is the reviewers').
func ownerOnly(a opsyncpb.DocAction) bool {
	return a == opsyncpb.DocAction_DOC_ACTION_UPDATE || a == opsyncpb.DocAction_DOC_ACTION_DELETE || a == opsyncpb.DocAction_DOC_ACTION_RESTORE
}

func (d *DocData) create(cmd *opsyncpb.DocDataCommand, now int64) (*opsyncpb.DocDataEvent, *DocRefusal) {
	r := proto.Clone(cmd.Record).(*opsyncpb.DocRecord)
	kind := KindOf(r)
	if kind == opsyncpb.DocKind_DOC_KIND_UNSPECIFIED || kind != cmd.Kind {
		return nil, refuse(DocInvalid, "a create of a %s carries a %s", kindName(cmd.Kind), kindName(kind))
	}
	id := RecordID(r)
	if id == "" {
		return nil, refuse(DocInvalid, "a %s needs an id", kindName(kind))
	}
	if prev, ok := d.records[docKey{kind, id}]; ok {
		if kind != opsyncpb.DocKind_DOC_KIND_USER {
			return nil, refuse(DocConflict, "%s %q exists already in document %q", kindName(kind), id, cmd.DocumentId)
		}
		// A user is put: created or updated (editors come back).
		merge(prev, r)
		r = prev
	}
	if len(d.records) >= MaxDocRecords {
		return nil, refuse(DocTooMany, "document %q has %d records, the most one may keep", cmd.DocumentId, MaxDocRecords)
	}
	setTimes(r, now, now)
	switch k := r.Kind.(type) {
	case *opsyncpb.DocRecord_Thread:
		k.Thread.DocumentId, k.Thread.ResolvedAt, k.Thread.ResolvedBy, k.Thread.DeletedAt = cmd.DocumentId, 0, "", 0
		if cmd.ActingUser != "" {
			k.Thread.AuthorId = cmd.ActingUser
		}
	case *opsyncpb.DocRecord_Comment:
		c := k.Comment
		c.DocumentId, c.DeletedAt = cmd.DocumentId, 0
		if cmd.ActingUser != "" {
			c.UserId = cmd.ActingUser
		}
		if c.UserId == "" || c.ThreadId == "" {
			return nil, refuse(DocInvalid, "a comment needs a thread_id and a user id")
		}
		t, ok := d.records[docKey{opsyncpb.DocKind_DOC_KIND_THREAD, c.ThreadId}]
		if !ok || DeletedAt(t) != 0 {
			return nil, refuse(DocNotFound, "no thread %q in document %q", c.ThreadId, cmd.DocumentId)
		}
	case *opsyncpb.DocRecord_Suggestion:
		s := k.Suggestion
		s.DocumentId, s.DeletedAt, s.State = cmd.DocumentId, 0, SuggestionOpen
		if cmd.ActingUser != "" {
			s.UserId = cmd.ActingUser
		}
		if s.UserId == "" {
			return nil, refuse(DocInvalid, "a suggestion needs a user id")
		}
	case *opsyncpb.DocRecord_Revision:
		v := k.Revision
		v.DocumentId, v.DeletedAt = cmd.DocumentId, 0
		if v.ToVersion < v.FromVersion {
			return nil, refuse(DocInvalid, "a revision's to_version is below its from_version")
		}
	}
	return put(r), nil
}

func put(r *opsyncpb.DocRecord) *opsyncpb.DocDataEvent {
	return &opsyncpb.DocDataEvent{Put: []*opsyncpb.DocRecord{r}}
}

// merge sets the fields an update may change that u sends (an empty one
// keeps its value); ids, authors, documents and times stay.
func merge(r, u *opsyncpb.DocRecord) {
	set := func(dst *string, src string) {
		if src != "" {
			*dst = src
		}
	}
	switch k := r.Kind.(type) {
	case *opsyncpb.DocRecord_User:
		set(&k.User.Name, u.GetUser().GetName())
		set(&k.User.Avatar, u.GetUser().GetAvatar())
	case *opsyncpb.DocRecord_Thread:
		set(&k.Thread.Context, u.GetThread().GetContext())
		set(&k.Thread.Attributes, u.GetThread().GetAttributes())
	case *opsyncpb.DocRecord_Comment:
		set(&k.Comment.Content, u.GetComment().GetContent())
		set(&k.Comment.Attributes, u.GetComment().GetAttributes())
	case *opsyncpb.DocRecord_Suggestion:
		set(&k.Suggestion.Data, u.GetSuggestion().GetData())
		set(&k.Suggestion.Attributes, u.GetSuggestion().GetAttributes())
		set(&k.Suggestion.Type, u.GetSuggestion().GetType())
		if u.GetSuggestion().GetHasComments() {
			k.Suggestion.HasComments = true
		}
	case *opsyncpb.DocRecord_Revision:
		set(&k.Revision.Name, u.GetRevision().GetName())
		set(&k.Revision.Attributes, u.GetRevision().GetAttributes())
	}
}

// kindName is a kind as the API names it.
func kindName(k opsyncpb.DocKind) string {
	switch k {
	case opsyncpb.DocKind_DOC_KIND_USER:
		return "user"
	case opsyncpb.DocKind_DOC_KIND_THREAD:
		return "thread"
	case opsyncpb.DocKind_DOC_KIND_COMMENT:
		return "comment"
	case opsyncpb.DocKind_DOC_KIND_SUGGESTION:
		return "suggestion"
	case opsyncpb.DocKind_DOC_KIND_REVISION:
		return "revision"
	}
	return "record"
}
