package dynamic

import (
	"errors"
	"sync"
)

// MaxViewsPerConn bounds the cards one connection has dynamic data pulled
// for at once (the edge bounds its open sources of every kind higher).
const MaxViewsPerConn = 64

// ErrTooManyViews is Views.Start's error past MaxViewsPerConn.
var ErrTooManyViews = errors.New("more than 64 cards with dynamic data open on one connection")

// Views are the Viewers of one connection, by card: Start on an Open,
// Stop on its Close, StopAll when the connection ends.
type Views struct {
	mu sync.Mutex
	m  map[string]*Viewer
}

// NewViews is an empty set.
func NewViews() *Views { return &Views{m: map[string]*Viewer{}} }

// Start runs the Viewer start makes for key (a card), unless the set is
// full; a view of key already running is stopped first (an Open twice
// starts over: its ONCE sources are pulled again).
func (s *Views) Start(key string, start func() *Viewer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.m[key]; old != nil {
		old.Stop()
		delete(s.m, key)
	}
	s.reap()
	if len(s.m) >= MaxViewsPerConn {
		return ErrTooManyViews
	}
	s.m[key] = start()
	return nil
}

// reap forgets the views that ended by themselves (nothing left to pull),
// so that they do not count against the bound.
func (s *Views) reap() {
	for k, v := range s.m {
		select {
		case <-v.Done():
			delete(s.m, k)
		default:
		}
	}
}

// Stop stops key's view, if any.
func (s *Views) Stop(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.m[key]; v != nil {
		v.Stop()
		delete(s.m, key)
	}
}

// StopAll stops every view (the connection ended).
func (s *Views) StopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m {
		v.Stop()
		delete(s.m, k)
	}
}

// Len is the number of views held (ended ones not yet reaped included).
func (s *Views) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
