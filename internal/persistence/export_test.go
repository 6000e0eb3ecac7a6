package persistence

import (
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
)

// SetMemTableSize shrinks Pebble's memtable so that short test runs flush
// to sstables, and crash tests recover from a mix of sstables and WAL.
func SetMemTableSize(o *PebbleOptions, n uint64) { o.memTableSize = n }

// FormatVersionOf returns the format version recorded in s; found is false
// when there is none.
func FormatVersionOf(s *PebbleStore) (version uint64, found bool, err error) {
	return readFormat(s.db)
}

// RemoveFormatVersion deletes the format version of the store in dir (not
// open), leaving it as a binary older than the version key wrote it.
func RemoveFormatVersion(dir string) error {
	db, err := pebble.Open(dir, &pebble.Options{
		Logger: pebbleLogger{slog.Default()}, FormatMajorVersion: pebbleFormat, ErrorIfNotExists: true,
	})
	if err != nil {
		return err
	}
	if err := db.Delete(formatKey(), pebble.Sync); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}
