package tenantauth

import (
	"context"
	"crypto/sha256"
	"sync"

	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/resultcode"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Lister lists the instances of the set (*cluster.Member).
type Lister interface {
	Instances(ctx context.Context) (*opsyncpb.InstanceList, error)
}

// KeyIndex finds the instance an API key belongs to (the open APIs'
// callers send only the key): it remembers the instance each key hash was
// found in, and checks every use through the push service's Authorize, so
// that a rotated key stops working at once and the comparison is the push
// APIs' whatever way instances keep their keys. A key it does not know
// is looked for in every instance (each check a lookup in the node's
// instance cache).
type KeyIndex struct {
	push   *push.Service
	lister Lister

	mu    sync.Mutex
	known map[[32]byte]string // key hash -> instance
}

// maxKnownKeys bounds the index; past it, it starts over.
const maxKnownKeys = 10000

// NewKeyIndex returns an empty index over the instances lister lists.
func NewKeyIndex(ps *push.Service, lister Lister) *KeyIndex {
	return &KeyIndex{push: ps, lister: lister, known: map[[32]byte]string{}}
}

// Lookup names the instance whose API key key is; resultcode.Unauthorized
// when none.
func (k *KeyIndex) Lookup(ctx context.Context, key string) (string, push.Result) {
	h := sha256.Sum256([]byte(key))
	k.mu.Lock()
	id, ok := k.known[h]
	k.mu.Unlock()
	if ok {
		if t, res := k.push.Authorize(ctx, id, push.APIKey(key)); t != nil {
			return id, res
		}
	}
	list, err := k.lister.Instances(ctx)
	if err != nil {
		return "", push.Result{Code: resultcode.SystemError}
	}
	for _, in := range list.Instances {
		t, res := k.push.Authorize(ctx, in.InstanceId, push.APIKey(key))
		if res.Code == resultcode.SystemError {
			return "", res
		}
		if t != nil {
			k.mu.Lock()
			if len(k.known) >= maxKnownKeys {
				clear(k.known)
			}
			k.known[h] = in.InstanceId
			k.mu.Unlock()
			return in.InstanceId, push.Result{}
		}
	}
	return "", push.Result{Code: resultcode.Unauthorized}
}

// Authenticate names the instance credential authorises: an access token
// of tokens' purpose, or an instance's API key.
func Authenticate(ctx context.Context, tokens Tokens, keys *KeyIndex, credential string) (string, push.Result) {
	if LooksLikeToken(credential) {
		return tokens.Verify(ctx, credential)
	}
	return keys.Lookup(ctx, credential)
}
