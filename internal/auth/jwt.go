// Package auth holds opsync's small credential primitives: random keys,
// constant-time comparison and HS256 JSON Web Tokens for clients.
//
// Tokens are parsed and checked by github.com/golang-jwt/jwt/v5 (token
// parsing is where a well-kept library earns its keep); this file only
// narrows it: the header's alg must be exactly "HS256" (no "none", no
// asymmetric algorithms, no "crit" extensions), exp is required, the
// claims are opsync's own typed struct (a float exp or a numeric sub is
// malformed), and the library's errors map onto opsync's.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
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
	// Auth, when set, carries the roles on collaborative documents
	// (auth.collaboration, the service's token shape).
	Auth *ClaimsAuth `json:"auth,omitempty"`
}

// ClaimsAuth is a token's auth claim: Collaboration maps a document id,
// or "*" for every other, to the role the user has on it (writer,
// commentator or reader).
type ClaimsAuth struct {
	Collaboration map[string]DocumentGrant `json:"collaboration,omitempty"`
}

// DocumentGrant is a user's role on a document.
type DocumentGrant struct {
	Role string `json:"role"`
}

// Claims implements jwt.Claims so the library checks the time claims; a
// zero time claim is absent.

func numericDate(sec int64) (*jwt.NumericDate, error) {
	if sec <= 0 {
		return nil, nil
	}
	return jwt.NewNumericDate(time.Unix(sec, 0)), nil
}

func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return numericDate(c.ExpiresAt) }
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error)      { return numericDate(c.NotBefore) }
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error)       { return numericDate(c.IssuedAt) }
func (c *Claims) GetIssuer() (string, error)                   { return "", nil }
func (c *Claims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *Claims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// Leeway is the clock skew allowed on exp, nbf and iat.
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

const algorithm = "HS256"

// errCrit refuses a header with critical extensions, which opsync does not
// understand (RFC 7515 §4.1.11 says such a token must be refused).
var errCrit = errors.New("crit header")

// SignHS256 returns the compact JWT of claims signed with secret.
func SignHS256(c Claims, secret []byte) (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodHS256, &c).SignedString(secret)
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
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{algorithm}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	var c Claims
	parsed, err := parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			return nil, errCrit
		}
		return secret, nil
	})
	if err != nil {
		return nil, tokenError(parsed, err)
	}
	return &c, nil
}

// tokenError maps the library's error onto opsync's. The library reports a
// method outside the valid ones as an invalid signature: the header tells
// the two apart.
func tokenError(parsed *jwt.Token, err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case errors.Is(err, errCrit), errors.Is(err, jwt.ErrTokenUnverifiable):
		return ErrAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if parsed == nil || parsed.Header["alg"] != algorithm {
			return ErrAlgorithm
		}
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return ErrNoExpiry
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrNotYet
	}
	return ErrMalformed
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
