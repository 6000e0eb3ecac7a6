package push

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"

	"github.com/opsync/opsync/internal/resultcode"
)

// Keys derived from an instance's API key, for tokens a backend gets in
// exchange for the key (the block API's tenant tokens): every node of a
// set derives the same key from the instance's context, so a token issued
// by one node is valid on all, and rotating the API key voids every token
// issued before.

// SigningKey is the instance's key for tokens of purpose.
func (t *Tenant) SigningKey(purpose string) []byte { return t.inst.signingKey(purpose) }

// The key is derived from the API key's hash, which is what every node's
// instance cache holds (the key itself is kept nowhere): whoever reads an
// instance's journal could mint tokens, as they could read its data.
func (in *Instance) signingKey(purpose string) []byte {
	if len(in.apiKeyHash) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, in.apiKeyHash)
	m.Write([]byte("opsync signing key\x00" + purpose))
	return m.Sum(nil)
}

// AuthorizeSigned checks a caller that presents a token signed with the
// instance's key of purpose: valid reports whether it verifies with that
// key. It answers the tenant, or the refusal (INSTANCE_NOT_FOUND,
// UNAUTHORIZED, SYSTEM_ERROR) as Authorize does.
func (s *Service) AuthorizeSigned(ctx context.Context, instanceID, purpose string, valid func(key []byte) bool) (*Tenant, Result) {
	inst, err := s.cache.Get(ctx, instanceID)
	switch {
	case err != nil:
		return nil, Result{Code: resultcode.SystemError}
	case !inst.Exists():
		return nil, Result{Code: resultcode.InstanceNotFound}
	}
	key := inst.signingKey(purpose)
	if key == nil || !valid(key) {
		return nil, Result{Code: resultcode.Unauthorized}
	}
	return &Tenant{s: s, id: instanceID, inst: inst}, Result{}
}
