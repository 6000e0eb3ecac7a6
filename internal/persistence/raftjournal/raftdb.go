package raftjournal

import (
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
)

// raftDB is the Pebble database under <dir>/log that holds raft's own state:
// the log (LogStore) and its term and vote (StableStore). It is separate
// from the replica so that the replica can be written without fsync while
// every raft write is synced, as raft requires.
//
//	log entry   'l' | uint64 BE index -> encodeLog
//	stable      's' | key             -> value
type raftDB struct {
	db *pebble.DB
}

const (
	prefixLog    byte = 'l'
	prefixStable byte = 's'
)

func openRaftDB(dir string, logger *slog.Logger) (*raftDB, error) {
	db, err := pebble.Open(dir, &pebble.Options{
		Logger: pebbleLogger{logger},
		// Pinned like the journal store's, so an upgrade never rewrites
		// the format behind a rollback's back.
		FormatMajorVersion: pebble.FormatValueSeparation,
	})
	if err != nil {
		return nil, fmt.Errorf("raftjournal: open raft log %s: %w", dir, err)
	}
	return &raftDB{db: db}, nil
}

func (r *raftDB) Close() error { return r.db.Close() }

// pebbleLogger drops Pebble's informational messages and passes errors on.
type pebbleLogger struct{ l *slog.Logger }

func (pebbleLogger) Infof(string, ...any) {}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("raftjournal: pebble: " + fmt.Sprintf(format, args...))
}

// Fatalf must not return (Pebble calls it when going on could corrupt data).
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := "raftjournal: pebble: " + fmt.Sprintf(format, args...)
	p.l.Error(msg)
	panic(msg)
}
