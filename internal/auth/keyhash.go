package auth

import (
	"crypto/sha256"
	"crypto/subtle"
)

// Keys that are only compared (API keys) are kept as their hash: whoever
// reads the journal, a snapshot, a backup or a dump learns nothing that
// pushes.
//
// The hash is plain SHA-256, not a slow password KDF (bcrypt, scrypt,
// argon2): a slow KDF makes guessing a low-entropy password costly, but a
// key from NewKey has 256 random bits, which no guessing reaches at any
// speed; and a KDF would cost every push that misses the node's cache
// tens of milliseconds of CPU.

// KeyPrefixLen is how many leading characters of a key are shown to tell
// keys apart: 36 of a key's 256 bits, which leaves it as unguessable.
const KeyPrefixLen = 6

// HashKey is the hash an API key is kept as.
func HashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// MatchesHash reports, in constant time, whether key hashes to hash. An
// empty hash (no key) matches nothing.
func MatchesHash(key string, hash []byte) bool {
	if len(hash) == 0 {
		return false
	}
	return subtle.ConstantTimeCompare(HashKey(key), hash) == 1
}

// KeyPrefix is the part of key shown to operators.
func KeyPrefix(key string) string {
	if len(key) <= KeyPrefixLen {
		return ""
	}
	return key[:KeyPrefixLen]
}
