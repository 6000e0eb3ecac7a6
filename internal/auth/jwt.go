// Package auth holds opsync's small credential primitives: random keys,
// constant-time comparison and HS256 JSON Web Tokens for clients.
//
// The JWT support is deliberately narrow: compact serialization only, the
// header's alg must be exactly "HS256" (no "none", no asymmetric
// algorithms, no "crit" extensions), the signature is checked before any
// claim is trusted, and exp is required.
package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Claims are the claims opsync reads from a client token.
type Claims struct {
	// Subject is the userId (sub).
	Subject string `json:"sub"`
	// Instance is the instanceId (iid).
	Instance string `json:"iid"`
	// Device, when set, is the only device id the token may connect as
	// (did).
	Device string `json:"did,omitempty"`
	// ExpiresAt, NotBefore and IssuedAt are seconds since the epoch (exp,
	// nbf, iat); exp is required.
	ExpiresAt int64 `json:"exp"`
	NotBefore int64 `json:"nbf,omitempty"`
	IssuedAt  int64 `json:"iat,omitempty"`
}

// Leeway is the clock skew allowed on nbf and iat (not on exp).
const Leeway = 30 * time.Second

// MaxTokenLen bounds a token's length.
const MaxTokenLen = 4096

// Token errors. ErrMalformed, ErrAlgorithm and ErrSignature mean the token
// cannot be trusted at all; the others that a trusted token does not
// allow the connection.
var (
	ErrMalformed = errors.New("token: malformed")
	ErrAlgorithm = errors.New("token: alg must be HS256")
	ErrSignature = errors.New("token: bad signature")
	ErrExpired   = errors.New("token: expired")
	ErrNotYet    = errors.New("token: not valid yet")
	ErrNoExpiry  = errors.New("token: exp missing")
)

var b64 = base64.RawURLEncoding

type header struct {
	Alg  string          `json:"alg"`
	Typ  string          `json:"typ,omitempty"`
	Crit json.RawMessage `json:"crit,omitempty"`
}

// SignHS256 returns the compact JWT of claims signed with secret.
func SignHS256(c Claims, secret []byte) (string, error) {
	h, err := json.Marshal(header{Alg: "HS256", Typ: "JWT"})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signing := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	return signing + "." + b64.EncodeToString(mac(secret, signing)), nil
}

// VerifyHS256 checks token's signature with secret and its time claims
// against now, and returns its claims. It does not check sub, iid or did:
// the caller compares them with what the client asks for.
func VerifyHS256(token string, secret []byte, now time.Time) (*Claims, error) {
	if len(secret) == 0 {
		return nil, ErrSignature
	}
	if len(token) > MaxTokenLen {
		return nil, ErrMalformed
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrMalformed
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, ErrMalformed
	}
	var h header
	if err := strictUnmarshal(hb, &h); err != nil {
		return nil, ErrMalformed
	}
	if h.Alg != "HS256" || len(h.Crit) > 0 {
		return nil, ErrAlgorithm
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, ErrMalformed
	}
	if !hmac.Equal(sig, mac(secret, parts[0]+"."+parts[1])) {
		return nil, ErrSignature
	}
	pb, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, ErrMalformed
	}
	var raw map[string]json.RawMessage
	if err := strictUnmarshal(pb, &raw); err != nil {
		return nil, ErrMalformed
	}
	var c Claims
	if err := strictUnmarshal(pb, &c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if _, ok := raw["exp"]; !ok || c.ExpiresAt <= 0 {
		return nil, ErrNoExpiry
	}
	sec := now.Unix()
	switch {
	case sec >= c.ExpiresAt:
		return nil, ErrExpired
	case c.NotBefore > 0 && now.Add(Leeway).Unix() < c.NotBefore:
		return nil, ErrNotYet
	case c.IssuedAt > 0 && now.Add(Leeway).Unix() < c.IssuedAt:
		return nil, ErrNotYet
	}
	return &c, nil
}

func mac(secret []byte, signing string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signing))
	return m.Sum(nil)
}

// strictUnmarshal decodes one JSON object: numbers must fit their fields
// (a float exp is refused) and nothing may follow it.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// NewKey returns a random 32-byte key, base64url without padding (43
// characters).
func NewKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("auth: no randomness: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	return b64.EncodeToString(b)
}

// Equal compares two secrets in time that depends on neither's content
// (nor on their lengths: it compares their SHA-256 digests). An empty
// expected secret never matches.
func Equal(got, want string) bool {
	if want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
