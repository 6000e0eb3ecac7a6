package dynamic

import "testing"

func TestSign(t *testing.T) {
	// Computed apart from this package (Python's hmac and base64).
	const want = "Y8j0fdWye91UF9mw8JNsem8sXuhEWoCuh4euIWvc5fQ="
	if got := Sign("secret-1", 1700000000123); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
	for _, c := range []struct {
		secret, ts, sig string
		ok              bool
	}{
		{"secret-1", "1700000000123", want, true},
		{"secret-2", "1700000000123", want, false},
		{"secret-1", "1700000000124", want, false},
		{"secret-1", "01700000000123", want, false}, // not the decimal text signed
		{"secret-1", "x", want, false},
		{"secret-1", "1700000000123", "", false},
	} {
		if got := Verify(c.secret, c.ts, c.sig); got != c.ok {
			t.Errorf("Verify(%q, %q, %q) = %v, want %v", c.secret, c.ts, c.sig, got, c.ok)
		}
	}
}
