package persistence

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
)

// FormatVersion is the on-disk format of a node's data directory that this
// binary reads and writes: the journal store's keys and values (keys.go)
// and everything else the node keeps under the directory (the raft
// journal's log and snapshots). OpenPebble records it in the journal store
// and refuses a store of a newer format; a node opens that store before
// the raft journal's, so the check guards the whole directory.
//
// It is only ever raised, never lowered or reused. Raise it for a change an
// older binary would misread; raising it requires, in the same change:
// code in OpenPebble that migrates a store of every older version (writing
// the new version only once the migrated data is durable) or refuses it
// with a clear error; tests that open a store of each older version; and a
// note in README.md. Until such code exists OpenPebble refuses every older
// version it finds, so a raise without a migration fails loudly rather than
// misreading old data.
const FormatVersion = 1

// legacyFormatVersion is the format of stores written before the version
// key existed: they have data and no version.
const legacyFormatVersion = 1

// FormatTooNewError is returned by OpenPebble for a data directory written
// in a newer format than this binary's FormatVersion.
type FormatTooNewError struct {
	Version   uint64 // the directory's format version
	Supported uint64 // this binary's FormatVersion
}

func (e *FormatTooNewError) Error() string {
	return fmt.Sprintf("data directory format version %d is newer than this binary supports (%d): upgrade opsync", e.Version, e.Supported)
}

// checkFormat reads the store's format version and refuses versions other
// than FormatVersion. A store without one gets it written (durably) unless
// read-only: FormatVersion if it is empty, legacyFormatVersion if it has
// data from a binary older than the version key.
func checkFormat(db *pebble.DB, readOnly bool) error {
	version, found, err := readFormat(db)
	if err != nil {
		return err
	}
	if !found {
		empty, err := isEmpty(db)
		if err != nil {
			return err
		}
		version = legacyFormatVersion
		if empty {
			version = FormatVersion
		}
	}
	switch {
	case version > FormatVersion:
		return &FormatTooNewError{Version: version, Supported: FormatVersion}
	case version < FormatVersion:
		return fmt.Errorf("data directory format version %d is older than this binary's (%d), which cannot upgrade it", version, FormatVersion)
	}
	if found || readOnly {
		return nil
	}
	if err := db.Set(formatKey(), encodeFormat(version), pebble.Sync); err != nil {
		return fmt.Errorf("write format version: %w", err)
	}
	return nil
}

func readFormat(db *pebble.DB) (version uint64, found bool, err error) {
	v, closer, err := db.Get(formatKey())
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read format version: %w", err)
	}
	defer closer.Close()
	if len(v) != 8 || binary.BigEndian.Uint64(v) == 0 {
		return 0, false, fmt.Errorf("corrupt format version %x", v)
	}
	return binary.BigEndian.Uint64(v), true, nil
}

func encodeFormat(version uint64) []byte { return binary.BigEndian.AppendUint64(nil, version) }

// isEmpty reports whether the store holds no key at all.
func isEmpty(db *pebble.DB) (bool, error) {
	it, err := db.NewIter(nil)
	if err != nil {
		return false, fmt.Errorf("look for data: %w", err)
	}
	empty := !it.First()
	if err := it.Close(); err != nil {
		return false, fmt.Errorf("look for data: %w", err)
	}
	return empty, nil
}

// SetFormatVersionForTest writes version as the format version of the
// store in dir, which must exist and not be open, bypassing OpenPebble's
// check. It is for tests that need a data directory as a newer (or older)
// binary leaves it. It is exported from a regular file rather than from
// export_test.go because the e2e tests, which run the real binary on such a
// directory, are another package and cannot see this package's test files;
// the alternative, writing the key from there, would repeat the key layout
// outside keys.go. Nothing but tests may call it.
func SetFormatVersionForTest(dir string, version uint64) error {
	db, err := pebble.Open(dir, &pebble.Options{
		Logger:             pebbleLogger{slog.Default()},
		FormatMajorVersion: pebbleFormat,
		ErrorIfNotExists:   true,
	})
	if err != nil {
		return fmt.Errorf("persistence: open %s: %w", dir, err)
	}
	if err := db.Set(formatKey(), encodeFormat(version), pebble.Sync); err != nil {
		db.Close()
		return fmt.Errorf("persistence: set format version in %s: %w", dir, err)
	}
	return db.Close()
}
