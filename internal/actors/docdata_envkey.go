package actors

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Every environment has its own data keys (AES-256-GCM), kept by its
// docenv actor wrapped with the node set's master key: the actors of its
// documents seal what they journal with the newest, and open with the
// one that sealed. Deleting the environment destroys them first, so
// nothing sealed with them opens again.

// ErrEnvDeleted: the environment was deleted; its keys are gone.
var ErrEnvDeleted = errors.New("the environment was deleted: its data keys are destroyed")

// EnvKeys gives actors the data keys of an environment. The document
// actors (permanent data, webhook outbox, and the session's operations)
// take them from Deps.EnvKeys; nil there asks the environment's docenv
// actor through the cluster and unwraps with Deps.MasterKey.
type EnvKeys interface {
	EnvKey(envID string) (*EnvKey, error)
}

// EnvKey is an environment's data keys, unwrapped: the newest seals,
// each opens what it sealed. Safe for concurrent use.
type EnvKey struct {
	current uint32
	aeads   map[uint32]cipher.AEAD
}

// NewEnvKey returns the key set of raw keys by version (32 bytes each).
func NewEnvKey(keys map[uint32][]byte) (*EnvKey, error) {
	k := &EnvKey{aeads: map[uint32]cipher.AEAD{}}
	for v, raw := range keys {
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, err
		}
		if k.aeads[v], err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
		k.current = max(k.current, v)
	}
	if len(k.aeads) == 0 {
		return nil, errors.New("an environment key set needs a key")
	}
	return k, nil
}

// Version is the version of the key that seals.
func (k *EnvKey) Version() uint32 { return k.current }

// SealMessage seals m's encoding for aad (the journal id it belongs to).
func (k *EnvKey) SealMessage(m proto.Message, aad string) ([]byte, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return k.Seal(b, aad), nil
}

// Seal encrypts plain for aad (what it belongs to: a journal id, so that
// sealed bytes moved elsewhere do not open): version (4 bytes), nonce,
// ciphertext.
func (k *EnvKey) Seal(plain []byte, aad string) []byte {
	a := k.aeads[k.current]
	out := make([]byte, 4+a.NonceSize(), 4+a.NonceSize()+len(plain)+a.Overhead())
	binary.BigEndian.PutUint32(out, k.current)
	if _, err := rand.Read(out[4:]); err != nil {
		panic("envkey: no randomness: " + err.Error())
	}
	return a.Seal(out, out[4:], plain, []byte(aad))
}

// Open decrypts what Seal made for aad.
func (k *EnvKey) Open(sealed []byte, aad string) ([]byte, error) {
	if len(sealed) < 4 {
		return nil, errors.New("envkey: sealed value too short")
	}
	v := binary.BigEndian.Uint32(sealed)
	a, ok := k.aeads[v]
	if !ok {
		return nil, fmt.Errorf("envkey: sealed with key version %d, which this environment does not have", v)
	}
	if len(sealed) < 4+a.NonceSize() {
		return nil, errors.New("envkey: sealed value too short")
	}
	return a.Open(nil, sealed[4:4+a.NonceSize()], sealed[4+a.NonceSize():], []byte(aad))
}

func envKeyPurpose(envID string) string { return "doc-env-key:" + envID }

// envKeysOf is the actors' source of environment keys.
func envKeysOf(d *Deps) EnvKeys {
	if d.EnvKeys != nil {
		return d.EnvKeys
	}
	return clusterEnvKeys{d}
}

// clusterEnvKeys asks the environment's docenv actor for its wrapped
// keys (making the first) and unwraps them here: the keys never travel
// in clear.
type clusterEnvKeys struct{ d *Deps }

func (c clusterEnvKeys) EnvKey(envID string) (*EnvKey, error) {
	if c.d.System == nil || c.d.MasterKey == nil {
		return nil, errors.New("no cluster or master key to take the environment's data key from")
	}
	res, err := cluster.GetCluster(c.d.System).Request(envID, KindDocEnv, &opsyncpb.GetDocKeys{}, cluster.WithTimeout(10*time.Second))
	if err != nil {
		return nil, err
	}
	ans, ok := res.(*opsyncpb.DocEnvAnswer)
	switch {
	case !ok:
		return nil, fmt.Errorf("the environment answered %T", res)
	case ans.Destroyed:
		return nil, ErrEnvDeleted
	case ans.Code != "":
		return nil, errors.New(ans.Code + ": " + ans.Detail)
	}
	return unwrapEnvKeys(c.d, envID, ans.Keys)
}

func unwrapEnvKeys(d *Deps, envID string, keys []*opsyncpb.DocEnvKeySet) (*EnvKey, error) {
	raw := map[uint32][]byte{}
	for _, k := range keys {
		b, err := d.MasterKey.Open(k.KeyWrapped, envKeyPurpose(envID))
		if err != nil {
			return nil, fmt.Errorf("the environment's data key %d does not open with this node's master key: %w", k.Version, err)
		}
		raw[k.Version] = b
	}
	return NewEnvKey(raw)
}
