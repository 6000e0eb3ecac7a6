package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// tally is what the delivery scenarios (fanout, block) count while a
// fleet of readers receives what the run sends: deliveries towards an
// expected total, duplicates, readers lost, the warm-up of every reader
// before the clock starts, and the first error.
type tally struct {
	want, readers                        int64
	delivered, dups, disconnects, warmed atomic.Int64
	firstErr                             atomic.Value
	allWarm, allDone                     chan struct{}
	warmOnce, doneOnce                   sync.Once
}

func newTally(readers int, want int64) *tally {
	return &tally{want: want, readers: int64(readers), allWarm: make(chan struct{}), allDone: make(chan struct{})}
}

// fail keeps msg if it is the run's first error.
func (t *tally) fail(msg string) { t.firstErr.CompareAndSwap(nil, msg) }

// lost counts reader i's connection failing, unless the run is over.
func (t *tally) lost(ctx context.Context, what string, i int, err error) {
	if ctx.Err() == nil {
		t.disconnects.Add(1)
		t.fail(fmt.Sprintf("%s %d: %v", what, i, err))
	}
}

// warm counts a reader that received its warm-up message.
func (t *tally) warm() {
	if t.warmed.Add(1) == t.readers {
		t.warmOnce.Do(func() { close(t.allWarm) })
	}
}

// deliver counts n deliveries.
func (t *tally) deliver(n int64) {
	if n > 0 && t.delivered.Add(n) == t.want {
		t.doneOnce.Do(func() { close(t.allDone) })
	}
}

// awaitWarm waits until every reader is warm, or the timer fires.
func (t *tally) awaitWarm(ctx context.Context, timer *time.Timer, what string) error {
	select {
	case <-t.allWarm:
		return nil
	case <-timer.C:
		return fmt.Errorf("bench: only %d of %d %s received the warm-up within the timeout", t.warmed.Load(), t.readers, what)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// awaitDone waits until every delivery arrived, the timer fires (logged
// as scenario's) or ctx ends.
func (t *tally) awaitDone(ctx context.Context, timer *time.Timer, env *Env, scenario string) {
	select {
	case <-t.allDone:
	case <-timer.C:
		env.logf("%s: timed out with %d of %d delivered", scenario, t.delivered.Load(), t.want)
	case <-ctx.Done():
	}
}

// firstError is the run's first error, "" for none.
func (t *tally) firstError() string {
	e, _ := t.firstErr.Load().(string)
	return e
}

// pace sleeps until work units are due at rate units a second from start
// (rate 0: at once): pacing, not synchronisation.
func pace(start time.Time, work float64, rate int) {
	if rate <= 0 {
		return
	}
	if wait := time.Until(start.Add(time.Duration(work / float64(rate) * float64(time.Second)))); wait > 0 {
		time.Sleep(wait)
	}
}
