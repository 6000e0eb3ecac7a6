package dynamic

import (
	"context"
	"sync"
	"time"
)

// Plan is what a Viewer pulls for one viewer of one card: where, signed
// how, and the card's sources in its order.
type Plan struct {
	CorpID string // the instance id
	Target
	Sources []Source
}

// Source is one dynamic data source of a card.
type Source struct {
	ID       string
	Interval time.Duration // 0: ONCE (pulled once per view)
}

// PlanFunc loads a view's plan when the view starts, in the Viewer's own
// goroutine (so that a slow load blocks no caller and a Stop cancels it):
// nil and no error when there is nothing to pull (the card has no dynamic
// sources, or the viewer may not see it); an error the viewer is told of
// (as a Result without a source) otherwise.
type PlanFunc func(ctx context.Context) (*Plan, error)

// Result is one source's outcome of a pull, for the viewer: its data, or
// why there is none this time.
type Result struct {
	SourceID  string // empty with Err: the view could not start (its plan failed)
	Data      string
	ValueType string
	Err       error
	PulledAt  time.Time
}

// Viewer pulls the dynamic data of one card for one viewer (one
// connection): every source at the start, then each INTERVAL source every
// interval, the sources due together in one request, until Stop.
type Viewer struct {
	p          *Puller
	userID     string
	outTrackID string
	load       PlanFunc
	deliver    func(Result)

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	stopped bool
}

// View starts a Viewer of outTrackID for userID: it loads its plan with
// load and hands each source's outcome to deliver (from the Viewer's
// goroutine, one at a time).
func (p *Puller) View(userID, outTrackID string, load PlanFunc, deliver func(Result)) *Viewer {
	ctx, cancel := context.WithCancel(context.Background())
	v := &Viewer{p: p, userID: userID, outTrackID: outTrackID, load: load, deliver: deliver,
		ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go v.run()
	return v
}

// Stop ends the view at once: no pull starts after it returns and no
// Result is delivered after it (an answer in flight is dropped). The
// goroutine ends soon after (Done).
func (v *Viewer) Stop() {
	v.cancel()
	v.mu.Lock()
	v.stopped = true
	v.mu.Unlock()
}

// Done is closed when the Viewer's goroutine has ended: after Stop, or
// when it has nothing more to pull (ONCE sources only, or no plan).
func (v *Viewer) Done() <-chan struct{} { return v.done }

func (v *Viewer) run() {
	defer close(v.done)
	plan, err := v.load(v.ctx)
	if v.ctx.Err() != nil {
		return
	}
	if err != nil {
		v.send(Result{Err: err, PulledAt: v.p.cfg.Clock.Now()})
		return
	}
	if plan == nil || len(plan.Sources) == 0 {
		return
	}
	clock := v.p.cfg.Clock
	// next: when each source is due; a ONCE source leaves after its pull.
	open := clock.Now()
	next := make([]time.Time, len(plan.Sources))
	for i := range next {
		next[i] = open
	}
	for {
		now := clock.Now()
		var due []int
		ids := make([]string, 0, len(plan.Sources))
		for i, s := range plan.Sources {
			if !next[i].IsZero() && !next[i].After(now) {
				due = append(due, i)
				ids = append(ids, s.ID)
			}
		}
		if len(due) > 0 {
			if !v.pullAndSend(plan, ids) {
				return
			}
			after := clock.Now()
			for _, i := range due {
				iv := plan.Sources[i].Interval
				if iv <= 0 {
					next[i] = time.Time{}
					continue
				}
				// From when it was due, not when the pull ended, so that
				// sources due together stay together; an interval missed
				// (a pull longer than it) is skipped.
				for next[i] = next[i].Add(iv); !next[i].After(after); next[i] = next[i].Add(iv) {
				}
			}
		}
		earliest := time.Time{}
		for _, t := range next {
			if !t.IsZero() && (earliest.IsZero() || t.Before(earliest)) {
				earliest = t
			}
		}
		if earliest.IsZero() {
			return // ONCE sources only: all pulled
		}
		if !v.p.sleep(v.ctx, earliest.Sub(clock.Now())) {
			return
		}
	}
}

// pullAndSend pulls ids and delivers each one's outcome; false when the
// view stopped.
func (v *Viewer) pullAndSend(plan *Plan, ids []string) bool {
	items, err := v.p.pull(v.ctx, plan.Target, Request{CorpID: plan.CorpID, UserID: v.userID, OutTrackID: v.outTrackID, SourceIDs: ids})
	if err == errStopped {
		return false
	}
	at := v.p.cfg.Clock.Now()
	for _, id := range ids {
		r := Result{SourceID: id, PulledAt: at, Err: err}
		if err == nil {
			it, ok := items[id]
			switch {
			case !ok:
				r.Err = ErrMissingSource
			case it.Err != nil:
				r.Err = it.Err
			default:
				r.Data, r.ValueType = it.Data, it.ValueType
			}
		}
		if !v.send(r) {
			return false
		}
	}
	return true
}

// send delivers r unless the view stopped (false).
func (v *Viewer) send(r Result) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.stopped {
		return false
	}
	v.deliver(r)
	return true
}
