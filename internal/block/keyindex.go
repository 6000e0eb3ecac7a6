package block

import (
	"context"
	"crypto/sha256"
	"sync"

	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/resultcode"
)

// keyIndex finds the instance an API key belongs to (the block API's
// caller sends only the key): it remembers the instance each key hash was
// found in, and checks every use through the push service's Authorize, so
// that a rotated key stops working at once and the comparison is the push
// APIs' whatever way instances keep their keys. A key it does not know
// is looked for in every instance (each check a lookup in the node's
// instance cache).
type keyIndex struct {
	mu    sync.Mutex
	known map[[32]byte]string // key hash -> instance
}

// maxKnownKeys bounds the index; past it, it starts over.
const maxKnownKeys = 10000

func newKeyIndex() *keyIndex { return &keyIndex{known: map[[32]byte]string{}} }

func (k *keyIndex) lookup(ctx context.Context, s *Service, key string) (string, push.Result) {
	h := sha256.Sum256([]byte(key))
	k.mu.Lock()
	id, ok := k.known[h]
	k.mu.Unlock()
	if ok {
		if t, res := s.push.Authorize(ctx, id, push.APIKey(key)); t != nil {
			return id, res
		}
	}
	list, err := s.router.Instances(ctx)
	if err != nil {
		return "", push.Result{Code: resultcode.SystemError}
	}
	for _, in := range list.Instances {
		t, res := s.push.Authorize(ctx, in.InstanceId, push.APIKey(key))
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
