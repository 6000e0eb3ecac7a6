package edge

import (
	"sync"
	"sync/atomic"

	"github.com/opsync/opsync/internal/metrics"
)

// sendBudget bounds what the node's client connections hold for their
// clients together: the bytes delivered and not acknowledged (in the
// connection's queue, or in its socket's buffers on the way) and those
// queued behind its window, as each client actor meters them. Each
// connection's share is bounded by its window already; the budget bounds
// the node when many clients stop reading at once. Past it, the
// connection holding the most is shed first (closed with CloseShed, its
// queued frames dropped), then the next, until the node is within it
// again: a slow client loses its connection before the node its memory.
type sendBudget struct {
	limit int64 // 0: no budget
	total atomic.Int64

	mu      sync.Mutex
	members map[*budgetShare]struct{}
}

// budgetShare is one connection's part of the budget: the SendMeter of its
// client actor.
type budgetShare struct {
	b    *sendBudget
	shed func() // closes the connection

	mu    sync.Mutex
	bytes int64
	gone  bool // shed, or the connection ended: charges no longer count
}

func newSendBudget(limit int64) *sendBudget {
	return &sendBudget{limit: limit, members: map[*budgetShare]struct{}{}}
}

// join adds a connection; shed closes it when the budget needs its room.
func (b *sendBudget) join(shed func()) *budgetShare {
	s := &budgetShare{b: b, shed: shed}
	b.mu.Lock()
	b.members[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Charge implements actors.SendMeter.
func (s *budgetShare) Charge(delta int64) {
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return
	}
	s.bytes += delta
	s.mu.Unlock()
	metrics.SendQueueBytes.Add(float64(delta))
	if total := s.b.total.Add(delta); delta > 0 && s.b.limit > 0 && total > s.b.limit {
		s.b.enforce()
	}
}

// leave takes the connection out of the budget, with what it held.
func (s *budgetShare) leave() bool {
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return false
	}
	s.gone = true
	held := s.bytes
	s.bytes = 0
	s.mu.Unlock()
	s.b.total.Add(-held)
	metrics.SendQueueBytes.Sub(float64(held))
	s.b.mu.Lock()
	delete(s.b.members, s)
	s.b.mu.Unlock()
	return true
}

func (s *budgetShare) held() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// enforce sheds the connections holding the most until the node is within
// its budget. Their bytes leave the budget at once: the connection drops
// its queued frames, and what it still holds goes with it in a moment.
func (b *sendBudget) enforce() {
	var victims []*budgetShare
	b.mu.Lock()
	for b.total.Load() > b.limit {
		var most *budgetShare
		var mostHeld int64
		for s := range b.members {
			if h := s.held(); most == nil || h > mostHeld {
				most, mostHeld = s, h
			}
		}
		if most == nil || mostHeld <= 0 {
			break
		}
		b.mu.Unlock()
		if most.leave() {
			victims = append(victims, most)
		}
		b.mu.Lock()
	}
	b.mu.Unlock()
	for _, v := range victims {
		metrics.SendShed.Inc()
		v.shed()
	}
}
