package actors

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// statesOf spells a records answer's entry states, oldest first, as
// id:acked devices:deliveries.
func statesOf(st *opsyncpb.StreamStatusResult) string {
	var out []string
	for _, s := range st.EntryStates {
		out = append(out, fmt.Sprintf("%d:%s:%d", s.OplogId, strings.Join(s.AckedDevices, ","), s.Deliveries))
	}
	slices.Reverse(out) // the records list the newest first
	return strings.Join(out, " ")
}

// The records tell each entry's state from what the stream counts now: a
// first delivery, which only the stream's memory holds (it is written
// before a passivation), a retry, an ack.
func TestStreamStatusEntryStates(t *testing.T) {
	h := newStreamTest(t, aliceUser)
	p := h.probe("d1")
	p.subscribe(map[string]uint64{"A": 0})
	h.pushBatch(entry("A", "x"), entry("A", "y"), entry("B", "z"))
	p.expect(1, 2)
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{name: "first deliveries, counted in memory", do: func() {}, want: "1::1 2::1 3::0"},
		{name: "d1 acknowledges 1", do: func() { p.ack(map[string]uint64{"A": 1}) }, want: "1:d1:0 2::1 3::0"},
		{name: "2 retried", do: func() { h.clock.Advance(testRetry); p.expectRetry(2) }, want: "1:d1:0 2::2 3::0"},
	}
	for _, s := range steps {
		s.do()
		h.store.await(t, s.name, func() bool { return statesOf(h.status()) == s.want })
		if st := h.status(); len(st.EntryStates) != len(st.Entries) {
			t.Fatalf("%s: %d states of %d entries", s.name, len(st.EntryStates), len(st.Entries))
		}
	}
}
