package metrics

import (
	"context"
	"time"

	"github.com/opsync/opsync/internal/persistence"
)

// InstrumentStore times the appends of s.
func InstrumentStore(s persistence.Store) persistence.Store { return instrumented{s} }

type instrumented struct{ persistence.Store }

func (i instrumented) Append(ctx context.Context, actorID string, first uint64, events [][]byte) error {
	start := time.Now()
	err := i.Store.Append(ctx, actorID, first, events)
	if err == nil {
		JournalAppend.Observe(time.Since(start).Seconds())
		JournalEvents.Add(float64(len(events)))
	}
	return err
}

// ReadBarrier forwards to the store (explicitly, so that a decorator change
// can never hide it).
func (i instrumented) ReadBarrier(ctx context.Context) error { return i.Store.ReadBarrier(ctx) }
