package dynamic

import (
	"context"
	"sync"
)

// urlLimits bounds the pulls in flight to each callback URL, across all
// the viewers of the node: a slow callback then holds at most its own
// slots, never the node's connections or the other callbacks' pulls.
// Entries live while a pull holds or awaits a slot, so the map is bounded
// by the pulls in flight.
type urlLimits struct {
	perURL int
	mu     sync.Mutex
	urls   map[string]*urlSlots
}

type urlSlots struct {
	sem   chan struct{}
	users int // pulls holding or awaiting a slot
}

func newURLLimits(perURL int) *urlLimits {
	return &urlLimits{perURL: perURL, urls: map[string]*urlSlots{}}
}

// acquire waits for a slot of url until ctx ends; release gives it back.
func (l *urlLimits) acquire(ctx context.Context, url string) (release func(), err error) {
	l.mu.Lock()
	s := l.urls[url]
	if s == nil {
		s = &urlSlots{sem: make(chan struct{}, l.perURL)}
		l.urls[url] = s
	}
	s.users++
	l.mu.Unlock()
	leave := func() {
		l.mu.Lock()
		if s.users--; s.users == 0 {
			delete(l.urls, url)
		}
		l.mu.Unlock()
	}
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}

// inFlight is the number of URLs with pulls holding or awaiting a slot.
func (l *urlLimits) inFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.urls)
}
