package node

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// throttleKeyLen is how much of a message names its kind: protoactor and
// raft put peers and backoffs into the message text, so that a down peer
// produces a stream of messages that differ only near their end.
const throttleKeyLen = 40

// throttle passes each kind of message at most once per interval and says,
// on the next one passed, how many of that kind were held back. A node of
// a set whose peer is down would otherwise log several lines a second
// (raft heartbeats with backoff, membership polls) for as long as it is.
type throttle struct {
	h        slog.Handler
	interval time.Duration
	state    *throttleState
}

type throttleState struct {
	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

func newThrottle(h slog.Handler, interval time.Duration) throttle {
	return throttle{h: h, interval: interval, state: &throttleState{last: map[string]time.Time{}, held: map[string]int{}}}
}

func (t throttle) Enabled(ctx context.Context, l slog.Level) bool { return t.h.Enabled(ctx, l) }

func (t throttle) Handle(ctx context.Context, r slog.Record) error {
	key := r.Message
	if len(key) > throttleKeyLen {
		key = key[:throttleKeyLen]
	}
	s := t.state
	s.mu.Lock()
	if last, ok := s.last[key]; ok && r.Time.Sub(last) < t.interval {
		s.held[key]++
		s.mu.Unlock()
		return nil
	}
	held := s.held[key]
	s.last[key], s.held[key] = r.Time, 0
	s.mu.Unlock()
	if held > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("similarHeldBack", held))
	}
	return t.h.Handle(ctx, r)
}

func (t throttle) WithAttrs(a []slog.Attr) slog.Handler {
	return throttle{h: t.h.WithAttrs(a), interval: t.interval, state: t.state}
}

func (t throttle) WithGroup(g string) slog.Handler {
	return throttle{h: t.h.WithGroup(g), interval: t.interval, state: t.state}
}
