package actors

import (
	"sync/atomic"
	"time"
)

// journalIO runs the journal calls of every persistent actor of the
// process (appends, reads, side work) off their message loops, on
// goroutines that live on between calls: a fresh goroutine per append grew
// its stack through Pebble's call depth every time (stack copying showed
// at ~8% of the server's CPU under many small appends). Concurrency is not
// limited: past the pool's size a call gets a goroutine of its own, since
// appends that wait for an fsync together are what lets the journal share
// it.
var journalIO = &workPool{size: 256, idle: 10 * time.Second}

// workPool runs functions on pooled goroutines.
type workPool struct {
	size    int32
	idle    time.Duration // a worker with nothing to do for this long ends
	workers atomic.Int32
	jobs    chan func()
}

func init() { journalIO.jobs = make(chan func()) }

// run calls f on a goroutine: an idle worker, a new one while the pool is
// below its size, else a goroutine of its own.
func (p *workPool) run(f func()) {
	select {
	case p.jobs <- f:
		return
	default:
	}
	if p.workers.Add(1) <= p.size {
		go p.work(f)
		return
	}
	p.workers.Add(-1)
	go f()
}

func (p *workPool) work(f func()) {
	defer p.workers.Add(-1)
	f()
	t := time.NewTimer(p.idle)
	defer t.Stop()
	for {
		select {
		case f := <-p.jobs:
			f()
			t.Reset(p.idle)
		case <-t.C:
			return
		}
	}
}
