package raftjournal

import (
	"encoding/binary"
	"errors"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
)

// StableStore keeps raft's current term and vote in Pebble, synced: a node
// that forgot its vote after a crash could vote twice in one term.
type StableStore struct{ r *raftDB }

var _ raft.StableStore = StableStore{}

func stableKey(k []byte) []byte { return append([]byte{prefixStable}, k...) }

// Set stores val under key.
func (s StableStore) Set(key, val []byte) error {
	return s.r.db.Set(stableKey(key), val, pebble.Sync)
}

// Get returns the value of key; raft expects an error containing "not
// found" for a missing key, and an empty value is reported the same way.
func (s StableStore) Get(key []byte) ([]byte, error) {
	v, closer, err := s.r.db.Get(stableKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// SetUint64 stores val under key as 8 bytes big-endian.
func (s StableStore) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 returns the value of key, 0 when it was never set (raft treats
// 0 as "no term yet").
func (s StableStore) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if errors.Is(err, errNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, errors.New("raftjournal: corrupt stable value")
	}
	return binary.BigEndian.Uint64(v), nil
}

var errNotFound = errors.New("not found")
