package raftjournal

import (
	"context"
	"sync"
)

// appliedIndex is the raft index a replica has applied, with a way to wait
// for it to reach a value. Waiters park on a channel that is closed (and
// replaced) on every advance, so a wait honours its context.
type appliedIndex struct {
	mu      sync.Mutex
	index   uint64
	advance chan struct{}
}

func newAppliedIndex(start uint64) *appliedIndex {
	return &appliedIndex{index: start, advance: make(chan struct{})}
}

// get returns the current index.
func (a *appliedIndex) get() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.index
}

// set records index (it never moves back) and wakes the waiters.
func (a *appliedIndex) set(index uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if index <= a.index {
		return
	}
	a.index = index
	close(a.advance)
	a.advance = make(chan struct{})
}

// wait returns once the index is >= n, or ctx's error.
func (a *appliedIndex) wait(ctx context.Context, n uint64) error {
	for {
		a.mu.Lock()
		index, advance := a.index, a.advance
		a.mu.Unlock()
		if index >= n {
			return nil
		}
		select {
		case <-advance:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// watermark is the highest raft index this node must have applied before
// it reads: the index of every write it saw acknowledged and of every read
// barrier it passed.
type watermark struct {
	mu sync.Mutex
	n  uint64
}

func (w *watermark) raise(n uint64) {
	w.mu.Lock()
	if n > w.n {
		w.n = n
	}
	w.mu.Unlock()
}

func (w *watermark) get() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// reset sets the index even below its current value (a replica that
// installed a snapshot is exactly at the snapshot's index).
func (a *appliedIndex) reset(index uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.index = index
	close(a.advance)
	a.advance = make(chan struct{})
}
