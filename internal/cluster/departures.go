package cluster

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
)

// departures follows the set's members from protoactor's topology events,
// so that a request waiting on a member learns at once that the member
// left: an actor on a member that died never answers, and protoactor
// itself would wait out the whole request timeout (10 s), or its fixed
// 5 s identity lookup when the actor's owner died.
type departures struct {
	mu sync.Mutex
	// members are the addresses of the current members; nil until the
	// first topology event (then every address counts as present).
	members map[string]bool
	// left is closed, and replaced, when members leave.
	left chan struct{}
}

func newDepartures() *departures { return &departures{left: make(chan struct{})} }

// subscribe follows system's topology events. It must come before the
// member starts, so that the first topology is seen.
func (d *departures) subscribe(system *actor.ActorSystem) {
	system.EventStream.Subscribe(func(ev any) {
		if t, ok := ev.(*pcluster.ClusterTopology); ok {
			d.update(t)
		}
	})
}

func (d *departures) update(t *pcluster.ClusterTopology) {
	members := make(map[string]bool, len(t.Members))
	for _, m := range t.Members {
		members[m.Address()] = true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.members = members
	if len(t.Left) > 0 {
		close(d.left)
		d.left = make(chan struct{})
	}
}

// watch returns whether the member at addr is in the set now, and a
// channel closed the next time any member leaves (then ask again).
func (d *departures) watch(addr string) (present bool, left <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.members == nil || d.members[addr], d.left
}

// MemberLeft returns a channel closed the next time a member leaves the
// set: work a departed member was doing (a webhook outbox it hosted) can
// be woken elsewhere at once instead of at its next periodic round.
func (m *Member) MemberLeft() <-chan struct{} {
	_, left := m.departures.watch("")
	return left
}
