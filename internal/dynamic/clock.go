package dynamic

import "time"

// Clock is the time a Viewer schedules by: the real one in the node, a
// fake one in tests (intervals of seconds and backoffs pass at once).
type Clock interface {
	Now() time.Time
	// NewTimer is a timer that fires once, after d.
	NewTimer(d time.Duration) Timer
}

// Timer is what Clock.NewTimer makes.
type Timer interface {
	C() <-chan time.Time
	// Stop stops the timer; it reports whether it stopped it before it fired.
	Stop() bool
}

// RealClock is the system's clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// NewTimer implements Clock.
func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }
