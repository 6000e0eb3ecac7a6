package main

import (
	"bytes"
	"strings"
	"testing"
)

// A secret flag takes the flag's value if given (even ""), else the
// environment's; usage never shows either.
func TestSecretFlag(t *testing.T) {
	t.Setenv("OPSYNC_TEST_SECRET", "from-env")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "from-env"},
		{[]string{"--key", "from-flag"}, "from-flag"},
		{[]string{"--key="}, ""},
	} {
		var out, errOut bytes.Buffer
		fs := newFlags("x", "x [flags]", &out, &errOut)
		key := newSecretFlag(fs, "key", "OPSYNC_TEST_SECRET", "a `secret`")
		if code := parseFlags(fs, tc.args, &out); code != -1 {
			t.Fatalf("%v: exit %d", tc.args, code)
		}
		if got := key.get(); got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.args, got, tc.want)
		}
		if code := parseFlags(fs, []string{"--help"}, &out); code != 0 {
			t.Fatalf("--help: exit %d", code)
		}
		if s := out.String() + errOut.String(); strings.Contains(s, "from-") || strings.Count(s, "usage:") != 1 {
			t.Errorf("%v: usage %q", tc.args, s)
		}
	}
}
