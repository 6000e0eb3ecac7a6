package document

import (
	"fmt"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// The rules of a document's permanent records over the client protocol
// (DocumentData frames): which role may take which action on which kind.
// Whose record it is (only its author changes it) is the permanent
// data's own rule (internal/state), the same for every caller.

// CodeNotOpen answers a DocumentData frame naming a document the
// connection has not opened: records are acted on in an open document
// only, so that the token's role on it has been checked.
const CodeNotOpen = "NOT_OPEN"

// RecordsStateKind is the kind a client opens a document's records by
// (Open.kind, the document's id): it then receives each change of them
// (StateUpdate, data a DocumentDataEvent).
const RecordsStateKind = "docrecords"

// RecordKindAllowed reports whether an editor acts on records of kind:
// threads, comments and suggestions. Users and revisions are written by
// the backend (REST) only.
func RecordKindAllowed(k opsyncpb.DocKind) bool {
	switch k {
	case opsyncpb.DocKind_DOC_KIND_THREAD, opsyncpb.DocKind_DOC_KIND_COMMENT, opsyncpb.DocKind_DOC_KIND_SUGGESTION:
		return true
	}
	return false
}

// CheckRecordAction says why role may not take action on a record of
// kind (nil: it may). Every role reads; commentators and writers create,
// update, delete (softly: removal for good is the backend's) and restore
// their records and resolve and reopen threads; only a writer accepts or
// rejects a suggestion, since that changes the content.
func (r Role) CheckRecordAction(action opsyncpb.DocAction, kind opsyncpb.DocKind) error {
	if !RecordKindAllowed(kind) {
		return fmt.Errorf("over the client protocol only threads, comments and suggestions are read or changed (not %s)", kind)
	}
	switch action {
	case opsyncpb.DocAction_DOC_ACTION_GET, opsyncpb.DocAction_DOC_ACTION_LIST:
		if r == None {
			return fmt.Errorf("the token gives no role on this document")
		}
		return nil
	case opsyncpb.DocAction_DOC_ACTION_CREATE, opsyncpb.DocAction_DOC_ACTION_UPDATE, opsyncpb.DocAction_DOC_ACTION_DELETE,
		opsyncpb.DocAction_DOC_ACTION_RESTORE, opsyncpb.DocAction_DOC_ACTION_RESOLVE, opsyncpb.DocAction_DOC_ACTION_REOPEN:
		if r != Writer && r != Commentator {
			return fmt.Errorf("a %s may not change this document's records (commentator or writer only)", roleName(r))
		}
		return nil
	case opsyncpb.DocAction_DOC_ACTION_ACCEPT, opsyncpb.DocAction_DOC_ACTION_REJECT:
		if r != Writer {
			return fmt.Errorf("only a writer accepts or rejects suggestions (the role is %s)", roleName(r))
		}
		return nil
	}
	return fmt.Errorf("action %s is not one an editor takes", action)
}

func roleName(r Role) string {
	if r == None {
		return "connection without a role"
	}
	return string(r)
}
