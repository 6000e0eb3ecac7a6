package client

import (
	"sync"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// event is one callback to run: a message received on cn, a connection
// state change or an error.
type event struct {
	msg       *Message
	cn        *conn
	connected *bool
	err       error
	block     *Block                    // a block version (block.go)
	typed     *TypedMessage             // a typed message of a block
	cardView  *opsyncpb.CardView        // a card's view (card.go)
	dynamic   *opsyncpb.CardDynamicData // a card's dynamic data
}

// eventLoop runs callbacks one at a time, in the order they were queued,
// on its own goroutine, so that the connection's reader never waits for
// the application. The queue is unbounded; the server's window of
// unacknowledged messages bounds what a connection adds to it.
type eventLoop struct {
	mu      sync.Mutex
	queue   []event
	stopped bool
	wake    chan struct{}
	run     func(event)
}

func newEventLoop(run func(event)) *eventLoop {
	l := &eventLoop{wake: make(chan struct{}, 1), run: run}
	go l.loop()
	return l
}

func (l *eventLoop) push(e event) {
	l.mu.Lock()
	if !l.stopped {
		l.queue = append(l.queue, e)
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// dropMessages removes the queued messages (not the other events).
func (l *eventLoop) dropMessages() {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept := l.queue[:0]
	for _, e := range l.queue {
		if e.msg == nil && e.block == nil && e.typed == nil {
			kept = append(kept, e)
		}
	}
	clear(l.queue[len(kept):])
	l.queue = kept
}

// stop ends the loop after the callback running now, if any; queued
// events are dropped.
func (l *eventLoop) stop() {
	l.mu.Lock()
	l.stopped = true
	l.queue = nil
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *eventLoop) loop() {
	for range l.wake {
		for {
			l.mu.Lock()
			if l.stopped {
				l.mu.Unlock()
				return
			}
			if len(l.queue) == 0 {
				l.mu.Unlock()
				break
			}
			e := l.queue[0]
			l.queue[0] = event{}
			l.queue = l.queue[1:]
			l.mu.Unlock()
			l.run(e)
		}
	}
}
