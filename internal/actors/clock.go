package actors

import "time"

// Clock is the time the actors see. Nodes run on the wall clock; actor
// tests drive a fake one, so that retries, expiry and timeouts are checked
// in microseconds instead of waited for.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once, in its own goroutine, after d. The returned
	// stop cancels the call if it has not happened yet.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// WallClock is the real time.
type WallClock struct{}

// Now implements Clock.
func (WallClock) Now() time.Time { return time.Now() }

// AfterFunc implements Clock.
func (WallClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
