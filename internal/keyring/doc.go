// Package keyring holds a node set's master key and the sealing of the
// secrets a node must read back, not merely compare: an instance's client
// secret (the HS256 key of its clients' tokens) is stored sealed with it,
// and the per-environment keys of collaborative documents will be wrapped
// by it. Secrets that are only compared (API keys) are hashed instead and
// never come here.
//
// Sealing is AES-256-GCM with a random nonce. A sealed value names the key
// that sealed it (an 8-byte id derived from the key, not the key), so that
// opening it with another key reports ErrWrongKey rather than garbage or a
// vague failure, and carries a purpose (e.g. the instance id) as
// additional data, so that a sealed value moved to another place does not
// open there.
package keyring
