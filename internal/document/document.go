// Package document holds the request rules of collaborative document
// sessions (issue 15): document ids, the size limits of operations and
// snapshots, editors' roles and the answers' codes. The actor, the edge and
// the client library share them, so that a rule is stated once.
package document

import (
	"fmt"
	"regexp"
)

// Answer codes (DocumentAnswer.code); "" is accepted.
const (
	// CodeRebase: the editor's base version is not the current one; the
	// answer carries the operations it missed.
	CodeRebase = "REBASE"
	// CodeForbidden: the editor's role does not allow the request.
	CodeForbidden = "FORBIDDEN"
	// CodeInvalid: a malformed request (no ops, base version ahead).
	CodeInvalid = "INVALID"
	// CodeTooLarge: an operation, a batch or a snapshot over its limit, or
	// a session that needs a snapshot before it takes more operations.
	CodeTooLarge = "TOO_LARGE"
	// CodeResync: the operations after the editor's base version are no
	// longer kept (a snapshot replaced them): open the document again.
	CodeResync      = "RESYNC"
	CodeSystemError = "SYSTEM_ERROR"
)

// Limits. A frame is at most 64 KiB, so these fit in one.
const (
	MaxOpBytes       = 32 << 10
	MaxBatchOps      = 256
	MaxBatchBytes    = 48 << 10
	MaxSnapshotBytes = 60 << 10
	// MaxSessionOps and MaxSessionBytes bound the operations a session
	// keeps after its latest snapshot (its memory): past them it refuses
	// operations until an editor sends a snapshot.
	MaxSessionOps   = 100_000
	MaxSessionBytes = 64 << 20
)

// StateKind is the kind a client opens a document by (Open.kind).
const StateKind = "document"

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// ValidID reports whether id can name a document.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Role is an editor's role on a document.
type Role string

const (
	Writer      Role = "writer"
	Commentator Role = "commentator"
	Reader      Role = "reader"
	// None: the token gives no role on the document; it cannot be opened.
	None Role = ""
)

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case Writer, Commentator, Reader:
		return r, nil
	}
	return None, fmt.Errorf("unknown document role %q (writer, commentator or reader)", s)
}

// RoleOf is the role of a connection on document id: without a roles claim
// (rolesSet false: no token, or a token without auth.collaboration) every
// editor is a writer; with one, the document's entry, else "*"'s, else
// none.
func RoleOf(roles map[string]string, rolesSet bool, id string) Role {
	if !rolesSet {
		return Writer
	}
	for _, k := range []string{id, "*"} {
		if s, ok := roles[k]; ok {
			if r, err := ParseRole(s); err == nil {
				return r
			}
			return None
		}
	}
	return None
}

// CanSendOps reports whether role may send operations: a reader only
// reads. A commentator's operations carry its comment markers, which are
// operations to the editor too.
func (r Role) CanSendOps() bool { return r == Writer || r == Commentator }

// CanSnapshot reports whether role may store a snapshot of the content.
func (r Role) CanSnapshot() bool { return r == Writer }

// CheckOps checks a batch of operations against the limits: the answer
// code and an error that says which, or "" and nil.
func CheckOps(ops [][]byte) (string, error) {
	if err := checkOps(ops); err != nil {
		if len(ops) == 0 {
			return CodeInvalid, err
		}
		return CodeTooLarge, err
	}
	return "", nil
}

func checkOps(ops [][]byte) error {
	if len(ops) == 0 {
		return fmt.Errorf("no operations")
	}
	if len(ops) > MaxBatchOps {
		return fmt.Errorf("%d operations in one batch: at most %d", len(ops), MaxBatchOps)
	}
	total := 0
	for i, op := range ops {
		if len(op) > MaxOpBytes {
			return fmt.Errorf("operation %d is %d bytes: at most %d", i, len(op), MaxOpBytes)
		}
		total += len(op)
	}
	if total > MaxBatchBytes {
		return fmt.Errorf("the batch is %d bytes: at most %d", total, MaxBatchBytes)
	}
	return nil
}
