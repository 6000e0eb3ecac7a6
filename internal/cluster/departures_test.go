package cluster

import (
	"testing"

	pcluster "github.com/asynkron/protoactor-go/cluster"
)

func member(id string, port int32) *pcluster.Member {
	return &pcluster.Member{Id: id, Host: "127.0.0.1", Port: port}
}

// departures follows the topology: an address is present while a member
// there is; the channel a watcher holds closes when members leave (and
// only then), whoever they are.
func TestDepartures(t *testing.T) {
	a, b, b2 := member("a", 1), member("b", 2), member("b-again", 2)
	steps := []struct {
		name      string
		topology  *pcluster.ClusterTopology
		watch     string
		present   bool
		wasClosed bool // the channel from the step before
	}{
		{name: "no topology yet: everything counts as present", watch: "127.0.0.1:9", present: true},
		{name: "two members join", topology: &pcluster.ClusterTopology{Members: []*pcluster.Member{a, b}, Joined: []*pcluster.Member{a, b}}, watch: b.Address(), present: true},
		{name: "an address of no member", watch: "127.0.0.1:9", present: false},
		{name: "b leaves", topology: &pcluster.ClusterTopology{Members: []*pcluster.Member{a}, Left: []*pcluster.Member{b}}, watch: b.Address(), present: false, wasClosed: true},
		{name: "b's address returns as a new member", topology: &pcluster.ClusterTopology{Members: []*pcluster.Member{a, b2}, Joined: []*pcluster.Member{b2}}, watch: b.Address(), present: true},
		{name: "a leaves", topology: &pcluster.ClusterTopology{Members: []*pcluster.Member{b2}, Left: []*pcluster.Member{a}}, watch: b.Address(), present: true, wasClosed: true},
	}
	d := newDepartures()
	_, left := d.watch("")
	for _, s := range steps {
		if s.topology != nil {
			d.update(s.topology)
		}
		closed := false
		select {
		case <-left:
			closed = true
		default:
		}
		if closed != s.wasClosed {
			t.Fatalf("%s: the previous channel closed: %v, want %v", s.name, closed, s.wasClosed)
		}
		var present bool
		present, left = d.watch(s.watch)
		if present != s.present {
			t.Fatalf("%s: %s present: %v, want %v", s.name, s.watch, present, s.present)
		}
	}
}
