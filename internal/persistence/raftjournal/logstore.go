package raftjournal

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
)

// LogStore is raft's log in Pebble. Every write is synced before it
// returns: raft counts an entry as held by this node once StoreLogs does.
type LogStore struct{ r *raftDB }

var _ raft.LogStore = LogStore{}

func logKey(index uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixLog}, index)
}

func logBounds() (lower, upper []byte) { return []byte{prefixLog}, []byte{prefixLog + 1} }

// FirstIndex returns the lowest stored index, 0 for an empty log.
func (s LogStore) FirstIndex() (uint64, error) { return s.edge(true) }

// LastIndex returns the highest stored index, 0 for an empty log.
func (s LogStore) LastIndex() (uint64, error) { return s.edge(false) }

func (s LogStore) edge(first bool) (uint64, error) {
	lo, hi := logBounds()
	it, err := s.r.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var ok bool
	if first {
		ok = it.First()
	} else {
		ok = it.Last()
	}
	if !ok {
		return 0, it.Error()
	}
	k := it.Key()
	if len(k) != 9 {
		return 0, fmt.Errorf("raftjournal: corrupt log key %x", k)
	}
	return binary.BigEndian.Uint64(k[1:]), nil
}

// GetLog fills log with the entry at index, or returns raft.ErrLogNotFound.
func (s LogStore) GetLog(index uint64, log *raft.Log) error {
	v, closer, err := s.r.db.Get(logKey(index))
	if errors.Is(err, pebble.ErrNotFound) {
		return raft.ErrLogNotFound
	}
	if err != nil {
		return err
	}
	defer closer.Close()
	if err := decodeLog(v, log); err != nil {
		return fmt.Errorf("raftjournal: log %d: %w", index, err)
	}
	return nil
}

// StoreLog stores one entry.
func (s LogStore) StoreLog(log *raft.Log) error { return s.StoreLogs([]*raft.Log{log}) }

// StoreLogs stores entries in one synced commit.
func (s LogStore) StoreLogs(logs []*raft.Log) error {
	b := s.r.db.NewBatch()
	defer b.Close()
	var buf []byte
	for _, l := range logs {
		buf = encodeLog(buf[:0], l)
		if err := b.Set(logKey(l.Index), buf, nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}

// DeleteRange removes the entries min..max inclusive (one range tombstone).
func (s LogStore) DeleteRange(min, max uint64) error {
	if min > max {
		return nil
	}
	upper := append(logKey(max), 0) // successor of max's key, fine for max = MaxUint64
	return s.r.db.DeleteRange(logKey(min), upper, pebble.Sync)
}
