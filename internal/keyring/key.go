package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of a master key: AES-256.
const KeySize = 32

// version is the first byte of a sealed value: its layout.
const version = 1

// idSize is the size of a key's id in a sealed value.
const idSize = 8

// Errors of Open.
var (
	// ErrWrongKey: the value was sealed with another master key.
	ErrWrongKey = errors.New("keyring: sealed with another master key")
	// ErrCorrupt: the value is not a sealed value, was changed, or was
	// sealed for another purpose.
	ErrCorrupt = errors.New("keyring: sealed value corrupt or not for this purpose")
)

// Key is a master key. It is safe for concurrent use.
type Key struct {
	aead cipher.AEAD
	id   [idSize]byte
}

// New returns the master key of raw, KeySize random bytes.
func New(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("keyring: a master key is %d bytes, not %d", KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	k := &Key{aead: aead}
	// The id is a hash of the key under its own label, so that it tells
	// keys apart without being usable as anything else.
	sum := sha256.Sum256(append([]byte("opsync master key id\x00"), raw...))
	copy(k.id[:], sum[:idSize])
	return k, nil
}

// Parse reads a master key written as text: base64 (standard or URL
// alphabet, padded or not) or hex of KeySize bytes, surrounding white
// space ignored.
func Parse(text string) (*Key, error) {
	s := strings.TrimSpace(text)
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
		if raw, err := enc.DecodeString(s); err == nil && len(raw) == KeySize {
			return New(raw)
		}
	}
	if raw, err := hex.DecodeString(s); err == nil && len(raw) == KeySize {
		return New(raw)
	}
	return nil, fmt.Errorf("keyring: a master key is %d random bytes written in base64 or hex (e.g. `openssl rand -base64 32`)", KeySize)
}

// Generate returns a new random master key as text Parse reads.
func Generate() string {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		panic("keyring: no randomness: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// ID names the key (hex), e.g. in an error about a value sealed with
// another one. It reveals nothing usable about the key.
func (k *Key) ID() string { return hex.EncodeToString(k.id[:]) }

// Seal encrypts plaintext for purpose (what the value is and whose, e.g.
// "client-secret:ws_APP"): only Open with the same key and purpose opens
// it.
func (k *Key) Seal(plaintext []byte, purpose string) []byte {
	head := make([]byte, 1+idSize+k.aead.NonceSize(), 1+idSize+k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	head[0] = version
	copy(head[1:], k.id[:])
	nonce := head[1+idSize:]
	if _, err := rand.Read(nonce); err != nil {
		panic("keyring: no randomness: " + err.Error())
	}
	return k.aead.Seal(head, nonce, plaintext, additional(head[:1+idSize], purpose))
}

// Open decrypts what Seal sealed for purpose. A value sealed with another
// key answers ErrWrongKey; any other failure ErrCorrupt. It never returns
// unauthenticated bytes.
func (k *Key) Open(sealed []byte, purpose string) ([]byte, error) {
	n := 1 + idSize + k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() || sealed[0] != version {
		return nil, ErrCorrupt
	}
	if string(sealed[1:1+idSize]) != string(k.id[:]) {
		return nil, fmt.Errorf("%w (%s, this node's is %s)", ErrWrongKey, hex.EncodeToString(sealed[1:1+idSize]), k.ID())
	}
	plain, err := k.aead.Open(nil, sealed[1+idSize:n], sealed[n:], additional(sealed[:1+idSize], purpose))
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}

// SealedBy is the id of the key that sealed a value, "" when it is not a
// sealed value.
func SealedBy(sealed []byte) string {
	if len(sealed) < 1+idSize || sealed[0] != version {
		return ""
	}
	return hex.EncodeToString(sealed[1 : 1+idSize])
}

// additional is the data a seal authenticates besides the plaintext: its
// header (so the key id cannot be swapped) and its purpose.
func additional(head []byte, purpose string) []byte {
	return append(append([]byte{}, head...), purpose...)
}
