package persistence

import (
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
)

// eventListener passes Pebble's background errors (a flush or compaction
// that failed, e.g. for want of space; Pebble retries them) to the log
// and makes the space guard read the free space at once, so that the node
// stops writing before the WAL, whose failures are fatal, runs out of
// room too.
func eventListener(logger *slog.Logger, space *SpaceGuard) *pebble.EventListener {
	return &pebble.EventListener{
		BackgroundError: func(err error) {
			logger.Error("pebble: background error (retried)", slog.Any("err", err))
			space.Sample()
		},
	}
}
