package keyring

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func mustParse(t *testing.T, s string) *Key {
	t.Helper()
	k, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	key := mustParse(t, Generate())
	other := mustParse(t, Generate())
	secret := []byte("the client secret")
	sealed := key.Seal(secret, "client-secret:ws_A")
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	cases := []struct {
		name    string
		key     *Key
		sealed  []byte
		purpose string
		want    error
	}{
		{"same key and purpose", key, sealed, "client-secret:ws_A", nil},
		{"another key", other, sealed, "client-secret:ws_A", ErrWrongKey},
		{"another purpose (moved to another instance)", key, sealed, "client-secret:ws_B", ErrCorrupt},
		{"changed ciphertext", key, flipped, "client-secret:ws_A", ErrCorrupt},
		{"truncated", key, sealed[:20], "client-secret:ws_A", ErrCorrupt},
		{"empty", key, nil, "client-secret:ws_A", ErrCorrupt},
		{"clear text, not sealed", key, []byte("a-clear-secret-of-43-characters-aaaaaaaaaaa"), "client-secret:ws_A", ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.key.Open(c.sealed, c.purpose)
			if !errors.Is(err, c.want) {
				t.Fatalf("Open: err %v, want %v", err, c.want)
			}
			if c.want == nil && !bytes.Equal(got, secret) {
				t.Fatalf("Open = %q, want %q", got, secret)
			}
			if c.want != nil && got != nil {
				t.Fatalf("Open answered bytes %q with an error", got)
			}
		})
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("the sealed value holds the secret in clear")
	}
	if bytes.Equal(sealed, key.Seal(secret, "client-secret:ws_A")) {
		t.Fatal("two seals of one secret are equal: the nonce is not random")
	}
	if SealedBy(sealed) != key.ID() || key.ID() == other.ID() {
		t.Fatalf("SealedBy %q, key %q, other %q", SealedBy(sealed), key.ID(), other.ID())
	}
	if _, err := other.Open(sealed, "client-secret:ws_A"); !strings.Contains(err.Error(), key.ID()) {
		t.Fatalf("the wrong-key error does not name the sealing key: %v", err)
	}
}

func TestParse(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb}, KeySize)
	want, err := New(raw)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, text string
		ok         bool
	}{
		{"base64url, no padding", base64.RawURLEncoding.EncodeToString(raw), true},
		{"base64 standard, padded (openssl rand -base64 32)", base64.StdEncoding.EncodeToString(raw) + "\n", true},
		{"hex", hex.EncodeToString(raw), true},
		{"surrounded by white space", "  " + base64.StdEncoding.EncodeToString(raw) + "\r\n", true},
		{"16 bytes", base64.StdEncoding.EncodeToString(raw[:16]), false},
		{"33 bytes", hex.EncodeToString(append(raw, 1)), false},
		{"empty", "", false},
		{"a passphrase", "correct horse battery staple", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := Parse(c.text)
			if (err == nil) != c.ok {
				t.Fatalf("Parse: err %v, want ok %v", err, c.ok)
			}
			if c.ok && k.ID() != want.ID() {
				t.Fatalf("Parse read another key: id %s, want %s", k.ID(), want.ID())
			}
		})
	}
	if _, err := Parse(Generate()); err != nil {
		t.Fatalf("Parse(Generate()): %v", err)
	}
}
