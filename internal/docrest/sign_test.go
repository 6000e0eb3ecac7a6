package docrest

import (
	"net/http"
	"testing"
	"time"
)

// Vectors computed outside Go: printf '<message>' | openssl dgst -sha256 -hmac '<secret>'.
func TestSignVectors(t *testing.T) {
	for _, c := range []struct {
		secret, method, path, ts, body, want string
	}{
		{"secret", "post", "/api/v5/env1/comments?document_id=d1", "1700000000000", `{"a":1}`, "5830e0a3a25257d99ed1471d86fe1820b3844d604fa43f25bbe20e2340a360e9"},
		{"SECRET_KEY", "GET", "/api/v5/env1/comments?document_id=d&limit=5", "1700000000000", "", "13782360177ff44dfca36fb219a6d107047d6f1b158b90e40f1202c69f994b71"},
	} {
		msg := SignedMessage(c.method, c.path, c.ts, []byte(c.body))
		if got := Sign([]byte(c.secret), msg); got != c.want {
			t.Errorf("Sign(%s %s) = %s, want %s", c.method, c.path, got, c.want)
		}
		if !Valid([]byte(c.secret), msg, c.want) {
			t.Errorf("Valid refuses the vector of %s %s", c.method, c.path)
		}
		for _, bad := range []struct{ secret, sig string }{
			{"other", c.want}, {c.secret, c.want[:62] + "00"}, {c.secret, "zz"}, {c.secret, ""},
		} {
			if Valid([]byte(bad.secret), msg, bad.sig) {
				t.Errorf("Valid accepts secret %q signature %q", bad.secret, bad.sig)
			}
		}
		// Another body, path or timestamp is another signature.
		if Valid([]byte(c.secret), SignedMessage(c.method, c.path, c.ts, []byte(c.body+" ")), c.want) ||
			Valid([]byte(c.secret), SignedMessage(c.method, c.path+"&x=1", c.ts, []byte(c.body)), c.want) ||
			Valid([]byte(c.secret), SignedMessage(c.method, c.path, c.ts+"1", []byte(c.body)), c.want) {
			t.Errorf("a changed request keeps the signature of %s %s", c.method, c.path)
		}
	}
}

func TestFresh(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	for _, c := range []struct {
		ts string
		ok bool
	}{
		{"1700000000000", true},
		{"1699999700001", true},  // 4:59.999 old
		{"1699999699999", false}, // 5:00.001 old
		{"1700000299999", true},
		{"1700000300001", false}, // from the future
		{"", false}, {"abc", false}, {"1.7e12", false},
	} {
		err := Fresh(c.ts, now)
		if (err == nil) != c.ok {
			t.Errorf("Fresh(%q) = %v, want ok %v", c.ts, err, c.ok)
		}
		if err != nil && err.Status != http.StatusUnauthorized {
			t.Errorf("Fresh(%q) status %d, want 401", c.ts, err.Status)
		}
	}
}
