package block

import (
	"context"
	"strings"
	"time"

	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/resultcode"
)

// Tenant tokens: what the service's SDK fetches first (POST
// /open-apis/auth/v3/tenant_access_token/internal with app_id and
// app_secret) and then sends as Authorization: Bearer. opsync's are
// stateless HS256 JWTs (iid: the instance, exp) signed with a key derived
// from the instance's API key (push.Tenant.SigningKey): any node of the
// set verifies them, and rotating the instance's keys voids them.

// TokenLifetime is how long a tenant token is valid (the service's 2 h).
const TokenLifetime = 2 * time.Hour

// tokenPurpose names the signing key of tenant tokens.
const tokenPurpose = "block tenant token"

// tokenSubject marks a tenant token (a client token's sub is a user).
const tokenSubject = "~tenant"

type tokens struct {
	push *push.Service
	now  func() time.Time
}

func (t tokens) time() time.Time {
	if t.now != nil {
		return t.now()
	}
	return time.Now()
}

func (t tokens) issue(tenant *push.Tenant) (string, int, error) {
	now := t.time()
	tok, err := auth.SignHS256(auth.Claims{Subject: tokenSubject, Instance: tenant.ID(), IssuedAt: now.Unix(),
		ExpiresAt: now.Add(TokenLifetime).Unix()}, tenant.SigningKey(tokenPurpose))
	return tok, int(TokenLifetime / time.Second), err
}

// verify checks a tenant token and names its instance.
func (t tokens) verify(ctx context.Context, token string) (string, push.Result) {
	iid, ok := unverifiedInstance(token)
	if !ok {
		return "", push.Result{Code: resultcode.Unauthorized}
	}
	tenant, res := t.push.AuthorizeSigned(ctx, iid, tokenPurpose, func(key []byte) bool {
		c, err := auth.VerifyHS256(token, key, t.time())
		return err == nil && c.Subject == tokenSubject && c.Instance == iid
	})
	if tenant == nil {
		if res.Code == resultcode.InstanceNotFound {
			res.Code = resultcode.Unauthorized
		}
		return "", res
	}
	return iid, push.Result{}
}

// looksLikeToken tells a JWT (three dot-separated parts) from an API key
// (base64url, no dots).
func looksLikeToken(s string) bool { return strings.Count(s, ".") == 2 }

// unverifiedInstance reads the iid claim of a token before its signature
// is checked: it only says which instance's key to check it with.
func unverifiedInstance(token string) (string, bool) {
	c, err := auth.PeekClaims(token)
	if err != nil || c.Instance == "" {
		return "", false
	}
	return c.Instance, true
}
