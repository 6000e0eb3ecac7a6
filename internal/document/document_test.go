package document

import (
	"bytes"
	"testing"
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
