package actors

import (
	"bytes"
	"testing"
)

func TestEnvKeySealOpen(t *testing.T) {
	k1, err := NewEnvKey(map[uint32][]byte{1: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	old := k1.Seal([]byte("secret comment"), "docdata:env/d/a")
	if bytes.Contains(old, []byte("secret comment")) {
		t.Fatal("sealed bytes hold the plaintext")
	}
	k2, err := NewEnvKey(map[uint32][]byte{1: bytes.Repeat([]byte{1}, 32), 2: bytes.Repeat([]byte{2}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if k2.Version() != 2 {
		t.Fatalf("the newest key seals, not %d", k2.Version())
	}
	if got, err := k2.Open(old, "docdata:env/d/a"); err != nil || string(got) != "secret comment" {
		t.Fatalf("a rotated key set opens the old: %q %v", got, err)
	}
	if _, err := k2.Open(old, "docdata:env/d/b"); err == nil {
		t.Fatal("sealed bytes moved to another document open there")
	}
	if _, err := k1.Open(k2.Seal([]byte("x"), "a"), "a"); err == nil {
		t.Fatal("a key set without version 2 opens what 2 sealed")
	}
	other, _ := NewEnvKey(map[uint32][]byte{1: bytes.Repeat([]byte{9}, 32)})
	if _, err := other.Open(old, "docdata:env/d/a"); err == nil {
		t.Fatal("another environment's key opens the data")
	}
}
