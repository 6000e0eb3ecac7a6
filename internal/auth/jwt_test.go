package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	secret = []byte("the-client-secret")
	now    = time.Unix(1_700_000_000, 0)
)

// forge builds a token from raw header and payload JSON, signed with key
// (no signature when key is nil).
func forge(headerJSON, payloadJSON string, key []byte) string {
	s := b64.EncodeToString([]byte(headerJSON)) + "." + b64.EncodeToString([]byte(payloadJSON))
	if key == nil {
		return s + "."
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return s + "." + b64.EncodeToString(m.Sum(nil))
}

func TestSignVerifyRoundTrip(t *testing.T) {
	tok, err := SignHS256(Claims{Subject: "alice", Instance: "ws_APP", Device: "d1", ExpiresAt: now.Unix() + 60}, secret)
	if err != nil {
		t.Fatal(err)
	}
	c, err := VerifyHS256(tok, secret, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || c.Instance != "ws_APP" || c.Device != "d1" {
		t.Fatalf("claims %+v", c)
	}
}

func TestVerifyRefuses(t *testing.T) {
	good := `{"sub":"alice","iid":"ws_APP","exp":` + itoa(now.Unix()+60) + `}`
	valid, _ := SignHS256(Claims{Subject: "alice", Instance: "ws_APP", ExpiresAt: now.Unix() + 60}, secret)
	parts := strings.Split(valid, ".")
	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"alg none, unsigned", forge(`{"alg":"none","typ":"JWT"}`, good, nil), ErrAlgorithm},
		{"alg none, signed anyway", forge(`{"alg":"none"}`, good, secret), ErrAlgorithm},
		{"alg lower case", forge(`{"alg":"hs256"}`, good, secret), ErrAlgorithm},
		{"alg HS512", forge(`{"alg":"HS512"}`, good, secret), ErrAlgorithm},
		{"alg RS256", forge(`{"alg":"RS256"}`, good, secret), ErrAlgorithm},
		{"crit header", forge(`{"alg":"HS256","crit":["x"]}`, good, secret), ErrAlgorithm},
		{"wrong secret", forge(`{"alg":"HS256"}`, good, []byte("other")), ErrSignature},
		{"tampered payload", parts[0] + "." + b64.EncodeToString([]byte(strings.Replace(good, "alice", "mallory", 1))) + "." + parts[2], ErrSignature},
		{"empty signature", parts[0] + "." + parts[1] + ".", ErrSignature},
		{"padded base64", parts[0] + "." + parts[1] + "." + base64.URLEncoding.EncodeToString(mustDecode(parts[2])), ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], ErrMalformed},
		{"four parts", valid + ".x", ErrMalformed},
		{"not JSON header", forge(`alg`, good, secret), ErrMalformed},
		{"expired beyond the leeway", forge(`{"alg":"HS256"}`, `{"sub":"a","iid":"i","exp":`+itoa(now.Add(-Leeway).Unix())+`}`, secret), ErrExpired},
		{"exp zero", forge(`{"alg":"HS256"}`, `{"sub":"a","iid":"i","exp":0}`, secret), ErrNoExpiry},
		{"issued in the future", forge(`{"alg":"HS256"}`, `{"sub":"a","iid":"i","exp":`+itoa(now.Unix()+600)+`,"iat":`+itoa(now.Unix()+120)+`}`, secret), ErrNotYet},
		{"trailing data in claims", forge(`{"alg":"HS256"}`, good+`{}`, secret), ErrMalformed},
		{"no exp", forge(`{"alg":"HS256"}`, `{"sub":"a","iid":"i"}`, secret), ErrNoExpiry},
		{"float exp", forge(`{"alg":"HS256"}`, `{"sub":"a","iid":"i","exp":1.5e12}`, secret), ErrMalformed},
		{"string sub", forge(`{"alg":"HS256"}`, `{"sub":7,"iid":"i","exp":`+itoa(now.Unix()+60)+`}`, secret), ErrMalformed},
		{"not before", forge(`{"alg":"HS256"}`, `{"sub":"a","iid":"i","exp":`+itoa(now.Unix()+600)+`,"nbf":`+itoa(now.Unix()+120)+`}`, secret), ErrNotYet},
		{"too long", strings.Repeat("a", MaxTokenLen+1), ErrMalformed},
		{"empty", "", ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyHS256(tc.token, secret, now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := VerifyHS256(valid, nil, now); !errors.Is(err, ErrSignature) {
		t.Fatalf("empty secret: %v", err)
	}
	// exp and nbf within the leeway are accepted.
	late := forge(`{"alg":"HS256"}`, `{"sub":"a","iid":"i","exp":`+itoa(now.Unix()-10)+`}`, secret)
	if _, err := VerifyHS256(late, secret, now); err != nil {
		t.Fatalf("exp within leeway: %v", err)
	}
	tok := forge(`{"alg":"HS256","typ":"JWT"}`, `{"sub":"a","iid":"i","exp":`+itoa(now.Unix()+600)+`,"nbf":`+itoa(now.Unix()+10)+`}`, secret)
	if _, err := VerifyHS256(tok, secret, now); err != nil {
		t.Fatalf("nbf within leeway: %v", err)
	}
}

func TestKeysAndEqual(t *testing.T) {
	a, b := NewKey(), NewKey()
	if len(a) != 43 || a == b {
		t.Fatalf("keys %q %q", a, b)
	}
	if _, err := b64.DecodeString(a); err != nil {
		t.Fatal(err)
	}
	if !Equal(a, a) || Equal(a, b) || Equal("", "") || Equal("x", "") {
		t.Fatal("Equal")
	}
}

func mustDecode(s string) []byte {
	b, err := b64.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
