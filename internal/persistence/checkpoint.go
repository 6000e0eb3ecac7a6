package persistence

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2"
)

// A checkpoint is every journal key of a store (events, highest seqs,
// snapshots; not metadata) at one point in time, as a stream of
// uvarint(len key) key uvarint(len value) value records ended by a zero
// key length. A replicated journal ships it as its state-machine snapshot.

// journalKinds are the key kinds a checkpoint carries.
var journalKinds = []byte{kindHighest, kindEvent, kindSnapshot}

// Checkpoint is a point-in-time view of a store's journal keys.
type Checkpoint struct {
	snap    *pebble.Snapshot
	release func()
}

// NewCheckpoint captures the store's current journal keys. It is cheap
// (a Pebble snapshot); WriteTo does the reading. Close must be called.
func (s *PebbleStore) NewCheckpoint() (*Checkpoint, error) {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, ErrClosed
	}
	return &Checkpoint{snap: s.db.NewSnapshot(), release: s.closeMu.RUnlock}, nil
}

// WriteTo streams the checkpoint to w.
func (c *Checkpoint) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	cw := &countingWriter{w: bw}
	var hdr []byte
	for _, kind := range journalKinds {
		lo, hi := kindBounds(kind)
		it, err := c.snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			return cw.n, fmt.Errorf("persistence: checkpoint: %w", err)
		}
		for valid := it.First(); valid; valid = it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				it.Close()
				return cw.n, fmt.Errorf("persistence: checkpoint: %w", err)
			}
			hdr = binary.AppendUvarint(hdr[:0], uint64(len(it.Key())))
			cw.Write(hdr)
			cw.Write(it.Key())
			hdr = binary.AppendUvarint(hdr[:0], uint64(len(v)))
			cw.Write(hdr)
			cw.Write(v)
		}
		if err := it.Close(); err != nil {
			return cw.n, fmt.Errorf("persistence: checkpoint: %w", err)
		}
		if cw.err != nil {
			return cw.n, cw.err
		}
	}
	cw.Write([]byte{0})
	if cw.err != nil {
		return cw.n, cw.err
	}
	return cw.n, bw.Flush()
}

// Close releases the view.
func (c *Checkpoint) Close() {
	if c.release == nil {
		return
	}
	_ = c.snap.Close()
	c.release()
	c.release = nil
}

type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
}

// ImportCheckpoint replaces every journal key of the store with those read
// from r (as written by Checkpoint.WriteTo) and sets the given metadata, in
// one synced commit: a crash leaves the old state or the new one, never a
// mix. The whole checkpoint is held in one batch, so it must fit in memory.
func (s *PebbleStore) ImportCheckpoint(r io.Reader, meta map[string][]byte) error {
	if s.readOnly {
		return ErrReadOnly
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	b := s.db.NewBatch()
	defer b.Close()
	defer s.forget(nil) // every actor's highest seq may change
	for _, kind := range journalKinds {
		lo, hi := kindBounds(kind)
		if err := b.DeleteRange(lo, hi, nil); err != nil {
			return fmt.Errorf("persistence: import checkpoint: %w", err)
		}
	}
	br := bufio.NewReaderSize(r, 256<<10)
	var key, val []byte
	for {
		kl, err := binary.ReadUvarint(br)
		if err != nil {
			return fmt.Errorf("persistence: import checkpoint: %w", noEOF(err))
		}
		if kl == 0 {
			break
		}
		if key, err = readN(br, key, kl); err != nil {
			return err
		}
		if !isJournalKind(key[0]) {
			return fmt.Errorf("persistence: import checkpoint: key %x is not a journal key", key)
		}
		vl, err := binary.ReadUvarint(br)
		if err != nil {
			return fmt.Errorf("persistence: import checkpoint: %w", noEOF(err))
		}
		if val, err = readN(br, val, vl); err != nil {
			return err
		}
		if err := b.Set(key, val, nil); err != nil {
			return fmt.Errorf("persistence: import checkpoint: %w", err)
		}
	}
	for name, v := range meta {
		if err := b.Set(metaKey(name), v, nil); err != nil {
			return fmt.Errorf("persistence: import checkpoint: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("persistence: import checkpoint: %w", err)
	}
	return nil
}

// maxCheckpointRecord bounds one key or value read from a checkpoint, so a
// corrupt length cannot make the import allocate without limit.
const maxCheckpointRecord = 1 << 30

func readN(r io.Reader, buf []byte, n uint64) ([]byte, error) {
	if n > maxCheckpointRecord {
		return nil, fmt.Errorf("persistence: import checkpoint: record of %d bytes", n)
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("persistence: import checkpoint: %w", noEOF(err))
	}
	return buf, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func isJournalKind(k byte) bool {
	for _, j := range journalKinds {
		if k == j {
			return true
		}
	}
	return false
}
