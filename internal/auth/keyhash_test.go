package auth

import "testing"

func TestMatchesHash(t *testing.T) {
	key := NewKey()
	cases := []struct {
		name string
		key  string
		hash []byte
		want bool
	}{
		{"the key", key, HashKey(key), true},
		{"another key", NewKey(), HashKey(key), false},
		{"a prefix of the key", key[:KeyPrefixLen], HashKey(key), false},
		{"the hash itself presented as the key", string(HashKey(key)), HashKey(key), false},
		{"no key kept", "", nil, false},
		{"empty key against no key", "", []byte{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := MatchesHash(c.key, c.hash); got != c.want {
				t.Fatalf("MatchesHash = %v, want %v", got, c.want)
			}
		})
	}
	if p := KeyPrefix(key); len(p) != KeyPrefixLen || p != key[:KeyPrefixLen] {
		t.Fatalf("KeyPrefix = %q", p)
	}
}
