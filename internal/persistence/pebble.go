package persistence

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"math"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrReadOnly is returned by writes to a store opened with ReadOnly.
var ErrReadOnly = errors.New("persistence: store opened read-only")

// PebbleOptions configures OpenPebble. The zero value is a writable store
// that logs errors through slog.Default().
type PebbleOptions struct {
	// ReadOnly opens an existing store without writing to it (for offline
	// inspection). The directory must hold a store; it is not created.
	ReadOnly bool
	// Logger receives Pebble's errors. Pebble's informational messages
	// (WAL recovery, compactions) are dropped. Nil means slog.Default().
	Logger *slog.Logger

	// Space, if set, is the node's free-space guard: appends and
	// snapshots are refused while it is in SpaceFull (deletes never are),
	// what is written lowers its estimate, and a failed write or a
	// background error makes it read the free space at once.
	Space *SpaceGuard

	// memTableSize overrides Pebble's memtable size; tests shrink it so
	// that flushes happen within a short run.
	memTableSize uint64
}

// stripes is the number of per-actor append locks. Appends of actors on
// different stripes commit concurrently and share fsyncs; 256 keeps the
// chance that two busy actors share a stripe low.
const stripes = 256

// pebbleFormat is Pebble's own format version for the store. Pinned rather
// than FormatNewest: a Pebble upgrade must not silently rewrite the on-disk
// format, which would stop an older opsync binary from opening the data
// after a rollback.
const pebbleFormat = pebble.FormatValueSeparation

// PebbleStore is the local Store: one Pebble database per node, shared by
// all its actors. It is safe for concurrent use.
type PebbleStore struct {
	db       *pebble.DB
	readOnly bool
	space    *SpaceGuard

	// closeMu is held for reading by every call that touches db, and for
	// writing by Close, so that Close never closes the database under a
	// running call (Pebble panics on use after close).
	closeMu sync.RWMutex
	closed  bool

	seed  maphash.Seed
	locks [stripes]sync.Mutex
	// known caches each actor's highest seq, per stripe, guarded by that
	// stripe's lock: an append checks its expected seq without a read
	// (which showed as a tenth of the server's CPU under many small
	// appends). Appends through this store keep it right; the other
	// writers of highest seqs (apply batches, checkpoint imports) forget
	// what they change.
	known [stripes]map[string]uint64
}

// knownPerStripe bounds the cache of highest seqs: a stripe's map is
// emptied when it is full (the next append of each actor reads again).
const knownPerStripe = 1024

var _ Store = (*PebbleStore)(nil)

// OpenPebble opens (and unless opts.ReadOnly, creates) the store in dir.
// It fails with a *FormatTooNewError for a store of a newer FormatVersion;
// a writable open records the version in a store that has none.
func OpenPebble(dir string, opts PebbleOptions) (*PebbleStore, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	po := &pebble.Options{
		Logger:             pebbleLogger{logger},
		EventListener:      eventListener(logger, opts.Space),
		ReadOnly:           opts.ReadOnly,
		FormatMajorVersion: pebbleFormat,
		MemTableSize:       opts.memTableSize,
	}
	if opts.ReadOnly {
		// A read-only open of a directory without a store would still
		// leave a LOCK file in it; look before touching anything.
		desc, err := pebble.Peek(dir, vfs.Default)
		if err != nil {
			return nil, fmt.Errorf("persistence: open %s: %w", dir, err)
		}
		if !desc.Exists {
			return nil, fmt.Errorf("persistence: open %s: %w", dir, pebble.ErrDBDoesNotExist)
		}
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("persistence: open %s: %w", dir, err)
	}
	if err := checkFormat(db, opts.ReadOnly); err != nil {
		db.Close()
		return nil, fmt.Errorf("persistence: open %s: %w", dir, err)
	}
	return &PebbleStore{db: db, readOnly: opts.ReadOnly, space: opts.Space, seed: maphash.MakeSeed()}, nil
}

// Close closes the database once running calls have returned. Calls after
// Close return ErrClosed; Close itself may be called again and returns nil.
func (s *PebbleStore) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("persistence: close: %w", err)
	}
	return nil
}

// enter starts a call: it checks the store is open and the arguments valid,
// and holds off Close until the returned release is called.
func (s *PebbleStore) enter(ctx context.Context, actorID string, write bool) (release func(), err error) {
	if err := CheckActorID(actorID); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if write && s.readOnly {
		return nil, ErrReadOnly
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, ErrClosed
	}
	return s.closeMu.RUnlock, nil
}

func (s *PebbleStore) stripe(actorID string) *sync.Mutex {
	return &s.locks[s.stripeOf(actorID)]
}

func (s *PebbleStore) stripeOf(actorID string) uint64 {
	return maphash.String(s.seed, actorID) % stripes
}

// forget drops the cached highest seqs of actors (nil: of every actor).
func (s *PebbleStore) forget(actorIDs map[string]uint64) {
	if actorIDs == nil {
		for i := range s.locks {
			s.locks[i].Lock()
			s.known[i] = nil
			s.locks[i].Unlock()
		}
		return
	}
	for id := range actorIDs {
		i := s.stripeOf(id)
		s.locks[i].Lock()
		delete(s.known[i], id)
		s.locks[i].Unlock()
	}
}

// Append implements Journal.
func (s *PebbleStore) Append(ctx context.Context, actorID string, first uint64, events [][]byte) error {
	if len(events) == 0 {
		return fmt.Errorf("persistence: append to %q: no events", actorID)
	}
	release, err := s.enter(ctx, actorID, true)
	if err != nil {
		return err
	}
	defer release()
	last := first + uint64(len(events)) - 1
	if first == 0 || last < first {
		// first = 0 can never be HighestSeq+1; last < first is overflow.
		return s.conflict(actorID, first)
	}

	b := s.db.NewBatch()
	defer b.Close()
	// Set copies key and value into the batch, so one key buffer serves.
	key := actorPrefix(kindEvent, actorID)
	prefixLen := len(key)
	for i, ev := range events {
		key = binary.BigEndian.AppendUint64(key[:prefixLen], first+uint64(i))
		if err := b.Set(key, ev, nil); err != nil {
			return fmt.Errorf("persistence: append to %q: %w", actorID, err)
		}
	}
	if err := b.Set(highestKey(actorID), encodeSeq(last), nil); err != nil {
		return fmt.Errorf("persistence: append to %q: %w", actorID, err)
	}

	// The stripe lock makes read-highest, check and commit one step for
	// this actor. Only actors on the same stripe wait for each other; the
	// rest commit concurrently, which is what lets Pebble group their
	// fsyncs. The batch is built before taking the lock to keep it short.
	i := s.stripeOf(actorID)
	s.locks[i].Lock()
	defer s.locks[i].Unlock()
	highest, ok := s.known[i][actorID]
	if !ok {
		if highest, err = s.highest(s.db, actorID); err != nil {
			return err
		}
	}
	if first != highest+1 {
		return &SeqConflictError{ActorID: actorID, Expected: highest + 1, Got: first}
	}
	if err := s.space.AdmitWrite(); err != nil {
		return fmt.Errorf("persistence: append to %q: %w", actorID, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		delete(s.known[i], actorID) // whatever the commit left, read it next time
		s.space.Sample()
		return fmt.Errorf("persistence: append to %q: %w", actorID, err)
	}
	s.space.Wrote(b.Len())
	if s.known[i] == nil || len(s.known[i]) >= knownPerStripe {
		s.known[i] = make(map[string]uint64)
	}
	s.known[i][actorID] = last
	return nil
}

func (s *PebbleStore) conflict(actorID string, first uint64) error {
	highest, err := s.highest(s.db, actorID)
	if err != nil {
		return err
	}
	return &SeqConflictError{ActorID: actorID, Expected: highest + 1, Got: first}
}

// reader is what DB and Snapshot have in common.
type reader interface {
	Get(key []byte) ([]byte, io.Closer, error)
}

func (s *PebbleStore) highest(r reader, actorID string) (uint64, error) {
	v, closer, err := r.Get(highestKey(actorID))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("persistence: read highest seq of %q: %w", actorID, err)
	}
	defer closer.Close()
	seq, ok := decodeSeq(v)
	if !ok {
		return 0, fmt.Errorf("persistence: highest seq of %q: corrupt value (%d bytes)", actorID, len(v))
	}
	return seq, nil
}

// HighestSeq implements Journal.
func (s *PebbleStore) HighestSeq(ctx context.Context, actorID string) (uint64, error) {
	release, err := s.enter(ctx, actorID, false)
	if err != nil {
		return 0, err
	}
	defer release()
	return s.highest(s.db, actorID)
}

// Replay implements Journal. The events and the returned highest seq come
// from one point-in-time view, so highest is never below a replayed seq and
// an append racing with the replay is either wholly in it or not at all.
// fn gets a copy of each event it may keep; fn must not call Close.
func (s *PebbleStore) Replay(ctx context.Context, actorID string, from, to uint64, max int, fn func(seq uint64, event []byte) error) (uint64, error) {
	release, err := s.enter(ctx, actorID, false)
	if err != nil {
		return 0, err
	}
	defer release()

	snap := s.db.NewSnapshot()
	defer snap.Close()
	highest, err := s.highest(snap, actorID)
	if err != nil {
		return 0, err
	}
	if max == 0 || from > to {
		return highest, nil
	}
	if max < 0 {
		max = math.MaxInt
	}

	lower, upper := seqBounds(kindEvent, actorID, from, to)
	it, err := snap.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return 0, fmt.Errorf("persistence: replay %q: %w", actorID, err)
	}
	n := 0
	for valid := it.First(); valid && n < max; valid = it.Next() {
		if err := ctx.Err(); err != nil {
			it.Close()
			return 0, err
		}
		_, seq, ok := decodeSeqKey(it.Key())
		if !ok {
			it.Close()
			return 0, fmt.Errorf("persistence: replay %q: corrupt key %x", actorID, it.Key())
		}
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return 0, fmt.Errorf("persistence: replay %q at seq %d: %w", actorID, seq, err)
		}
		if err := fn(seq, append([]byte(nil), v...)); err != nil {
			it.Close()
			return 0, err
		}
		n++
	}
	if err := it.Close(); err != nil {
		return 0, fmt.Errorf("persistence: replay %q: %w", actorID, err)
	}
	return highest, nil
}

// DeleteRange implements Journal. It is one range tombstone however many
// events it covers, and leaves the highest-seq key alone.
func (s *PebbleStore) DeleteRange(ctx context.Context, actorID string, from, to uint64) error {
	return s.deleteRange(ctx, kindEvent, actorID, from, to)
}

// DeleteSnapshots implements SnapshotStore.
func (s *PebbleStore) DeleteSnapshots(ctx context.Context, actorID string, from, to uint64) error {
	return s.deleteRange(ctx, kindSnapshot, actorID, from, to)
}

func (s *PebbleStore) deleteRange(ctx context.Context, kind byte, actorID string, from, to uint64) error {
	release, err := s.enter(ctx, actorID, true)
	if err != nil {
		return err
	}
	defer release()
	if from > to {
		return nil
	}
	lower, upper := seqBounds(kind, actorID, from, to)
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(lower, upper, nil); err != nil {
		return fmt.Errorf("persistence: delete %q %d..%d: %w", actorID, from, to, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("persistence: delete %q %d..%d: %w", actorID, from, to, err)
	}
	return nil
}

// SaveSnapshot implements SnapshotStore.
func (s *PebbleStore) SaveSnapshot(ctx context.Context, actorID string, seq uint64, data []byte) error {
	release, err := s.enter(ctx, actorID, true)
	if err != nil {
		return err
	}
	defer release()
	if err := s.space.AdmitWrite(); err != nil {
		return fmt.Errorf("persistence: save snapshot %q@%d: %w", actorID, seq, err)
	}
	// Synced like events: a snapshot that vanished after the journal below
	// it was trimmed would lose state.
	if err := s.db.Set(seqKey(kindSnapshot, actorID, seq), data, pebble.Sync); err != nil {
		s.space.Sample()
		return fmt.Errorf("persistence: save snapshot %q@%d: %w", actorID, seq, err)
	}
	s.space.Wrote(len(data))
	return nil
}

// LoadSnapshot implements SnapshotStore.
func (s *PebbleStore) LoadSnapshot(ctx context.Context, actorID string, maxSeq uint64) (uint64, []byte, bool, error) {
	release, err := s.enter(ctx, actorID, false)
	if err != nil {
		return 0, nil, false, err
	}
	defer release()
	lower, upper := seqBounds(kindSnapshot, actorID, 0, maxSeq)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return 0, nil, false, fmt.Errorf("persistence: load snapshot %q: %w", actorID, err)
	}
	defer it.Close()
	if !it.Last() {
		return 0, nil, false, it.Error()
	}
	_, seq, ok := decodeSeqKey(it.Key())
	if !ok {
		return 0, nil, false, fmt.Errorf("persistence: load snapshot %q: corrupt key %x", actorID, it.Key())
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return 0, nil, false, fmt.Errorf("persistence: load snapshot %q@%d: %w", actorID, seq, err)
	}
	return seq, append([]byte(nil), v...), true, nil
}

// AdmitWrite returns nil unless the store's space guard is below its floor
// (see SpaceGuard.AdmitWrite): the raft leader asks it before proposing an
// append or a snapshot, which every replica, its own included, will write.
func (s *PebbleStore) AdmitWrite() error { return s.space.AdmitWrite() }

// ReadBarrier implements Store: every acknowledged write of a local store
// is visible to its reads already.
func (s *PebbleStore) ReadBarrier(ctx context.Context) error { return nil }

// pebbleLogger keeps Pebble's informational chatter (it prints WAL recovery
// details on every open) out of the node's logs and passes errors on.
type pebbleLogger struct{ l *slog.Logger }

func (pebbleLogger) Infof(string, ...any) {}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("pebble: " + fmt.Sprintf(format, args...))
}

// Fatalf must not return: Pebble calls it when continuing could corrupt
// data. Its own default exits the process; a panic does too, with a stack.
//
// The one a full disk would cause is "fatal commit error": a WAL write or
// sync failed, and the commit pipeline cannot tell what reached the disk.
// Going on could acknowledge writes that a restart would not find (and
// fsync failures on Linux may drop dirty pages for good), so it still
// ends the process: a restart replays the WAL as far as it is intact,
// which holds every write acknowledged before. The SpaceGuard is what
// keeps a full disk from getting here: it refuses writes well before
// the WAL runs out of room.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := "pebble: " + fmt.Sprintf(format, args...)
	p.l.Error(msg)
	panic(msg)
}
