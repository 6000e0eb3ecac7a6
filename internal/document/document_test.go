package document

import (
	"bytes"
	"testing"

	"github.com/opsync/opsync/proto/opsyncpb"
)

func TestRoleOf(t *testing.T) {
	for _, tc := range []struct {
		roles map[string]string
		set   bool
		id    string
		want  Role
	}{
		{nil, false, "d1", Writer},
		{map[string]string{"d1": "reader"}, true, "d1", Reader},
		{map[string]string{"d1": "reader", "*": "writer"}, true, "d2", Writer},
		{map[string]string{"*": "commentator"}, true, "d2", Commentator},
		{map[string]string{"d1": "writer"}, true, "d2", None},
		{map[string]string{"d1": "owner"}, true, "d1", None},
		{map[string]string{}, true, "d1", None},
	} {
		if got := RoleOf(tc.roles, tc.set, tc.id); got != tc.want {
			t.Errorf("RoleOf(%v, %v, %q) = %q, want %q", tc.roles, tc.set, tc.id, got, tc.want)
		}
	}
	if Reader.CanSendOps() || !Writer.CanSendOps() || !Commentator.CanSendOps() || Commentator.CanSnapshot() {
		t.Fatal("role permissions")
	}
}

func TestCheckOps(t *testing.T) {
	big := bytes.Repeat([]byte("x"), MaxOpBytes+1)
	many := make([][]byte, MaxBatchOps+1)
	for i := range many {
		many[i] = []byte("x")
	}
	for _, tc := range []struct {
		name string
		ops  [][]byte
		code string
	}{
		{"ok", [][]byte{[]byte("a")}, ""},
		{"none", nil, CodeInvalid},
		{"one too big", [][]byte{big}, CodeTooLarge},
		{"too many", many, CodeTooLarge},
		{"batch too big", [][]byte{bytes.Repeat([]byte("x"), MaxOpBytes), bytes.Repeat([]byte("x"), MaxOpBytes)}, CodeTooLarge},
	} {
		code, err := CheckOps(tc.ops)
		if code != tc.code || (err == nil) != (tc.code == "") {
			t.Errorf("%s: code %q err %v, want %q", tc.name, code, err, tc.code)
		}
	}
	if !ValidID("doc-1_a.b") || ValidID("") || ValidID("a/b") {
		t.Fatal("ValidID")
	}
}

func TestRecordActions(t *testing.T) {
	const (
		get     = opsyncpb.DocAction_DOC_ACTION_GET
		create  = opsyncpb.DocAction_DOC_ACTION_CREATE
		update  = opsyncpb.DocAction_DOC_ACTION_UPDATE
		del     = opsyncpb.DocAction_DOC_ACTION_DELETE
		restore = opsyncpb.DocAction_DOC_ACTION_RESTORE
		accept  = opsyncpb.DocAction_DOC_ACTION_ACCEPT
		remove  = opsyncpb.DocAction_DOC_ACTION_REMOVE_DOCUMENT
		comment = opsyncpb.DocKind_DOC_KIND_COMMENT
		sugg    = opsyncpb.DocKind_DOC_KIND_SUGGESTION
		user    = opsyncpb.DocKind_DOC_KIND_USER
		rev     = opsyncpb.DocKind_DOC_KIND_REVISION
	)
	for _, tc := range []struct {
		role   Role
		action opsyncpb.DocAction
		kind   opsyncpb.DocKind
		ok     bool
	}{
		{Reader, get, comment, true},
		{None, get, comment, false},
		{Reader, create, comment, false},
		{Reader, del, sugg, false},
		{Commentator, create, comment, true},
		{Commentator, update, sugg, true},
		{Commentator, restore, comment, true},
		{Commentator, accept, sugg, false},
		{Writer, accept, sugg, true},
		{Writer, del, comment, true},
		{Writer, create, user, false},
		{Writer, update, rev, false},
		{Writer, remove, comment, false},
		{Writer, opsyncpb.DocAction_DOC_ACTION_UNSPECIFIED, comment, false},
	} {
		if err := tc.role.CheckRecordAction(tc.action, tc.kind); (err == nil) != tc.ok {
			t.Errorf("%q %s %s: %v, want allowed %v", tc.role, tc.action, tc.kind, err, tc.ok)
		}
	}
}
