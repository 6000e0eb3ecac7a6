package tenantauth

import (
	"context"
	"strings"
	"time"

	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/resultcode"
)

// Access tokens: what the services' SDKs fetch first (the block API's
// tenant_access_token, the card API's oauth2 accessToken) and then send
// with each call. opsync's are stateless HS256 JWTs (iid: the instance,
// exp) signed with a key derived from the instance's API key and the
// token's purpose (push.Tenant.SigningKey): any node of the set verifies
// them, and rotating the instance's keys voids them.

// Lifetime is how long an access token is valid (the services' 2 h).
const Lifetime = 2 * time.Hour

// subject marks an access token (a client token's sub is a user).
const subject = "~tenant"

// Tokens issues and verifies the access tokens of one purpose.
type Tokens struct {
	Push *push.Service
	// Purpose names the signing key ("block tenant token"): tokens of
	// one purpose do not verify under another.
	Purpose string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (t Tokens) time() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Issue signs a token for tenant; it answers the token and its lifetime
// in seconds.
func (t Tokens) Issue(tenant *push.Tenant) (string, int, error) {
	now := t.time()
	tok, err := auth.SignHS256(auth.Claims{Subject: subject, Instance: tenant.ID(), IssuedAt: now.Unix(),
		ExpiresAt: now.Add(Lifetime).Unix()}, tenant.SigningKey(t.Purpose))
	return tok, int(Lifetime / time.Second), err
}

// Verify checks a token and names its instance; a token that is not
// valid answers resultcode.Unauthorized.
func (t Tokens) Verify(ctx context.Context, token string) (string, push.Result) {
	iid, ok := unverifiedInstance(token)
	if !ok {
		return "", push.Result{Code: resultcode.Unauthorized}
	}
	tenant, res := t.Push.AuthorizeSigned(ctx, iid, t.Purpose, func(key []byte) bool {
		c, err := auth.VerifyHS256(token, key, t.time())
		return err == nil && c.Subject == subject && c.Instance == iid
	})
	if tenant == nil {
		if res.Code == resultcode.InstanceNotFound {
			res.Code = resultcode.Unauthorized
		}
		return "", res
	}
	return iid, push.Result{}
}

// LooksLikeToken tells a JWT (three dot-separated parts) from an API key
// (base64url, no dots).
func LooksLikeToken(s string) bool { return strings.Count(s, ".") == 2 }

// unverifiedInstance reads the iid claim of a token before its signature
// is checked: it only says which instance's key to check it with.
func unverifiedInstance(token string) (string, bool) {
	c, err := auth.PeekClaims(token)
	if err != nil || c.Instance == "" {
		return "", false
	}
	return c.Instance, true
}
