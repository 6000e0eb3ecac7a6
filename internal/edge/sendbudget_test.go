package edge

import (
	"slices"
	"testing"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Past the budget, the connections holding the most are shed first, until
// the node is within it; their bytes leave the budget at once, and what
// they charge afterwards does not count.
func TestSendBudgetShedsTheLargestFirst(t *testing.T) {
	type charge struct {
		conn  string
		bytes int64
	}
	cases := []struct {
		name      string
		limit     int64
		charges   []charge
		wantShed  []string
		wantTotal int64
	}{
		{name: "within the budget: nobody", limit: 100, charges: []charge{{"a", 60}, {"b", 40}}, wantTotal: 100},
		{name: "over it: the one holding the most, not the last to charge", limit: 100, charges: []charge{{"a", 60}, {"b", 30}, {"c", 20}}, wantShed: []string{"a"}, wantTotal: 50},
		{name: "one after another, the largest each time", limit: 100, charges: []charge{{"a", 50}, {"b", 45}, {"c", 40}, {"d", 200}}, wantShed: []string{"a", "d"}, wantTotal: 85},
		{name: "released bytes make room", limit: 100, charges: []charge{{"a", 80}, {"a", -50}, {"b", 60}}, wantTotal: 90},
		{name: "a shed connection's later charges do not count", limit: 100, charges: []charge{{"a", 90}, {"b", 20}, {"a", 10}, {"a", -100}}, wantShed: []string{"a"}, wantTotal: 20},
		{name: "no budget", limit: 0, charges: []charge{{"a", 1 << 40}}, wantTotal: 1 << 40},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newSendBudget(c.limit)
			var shed []string
			shares := map[string]*budgetShare{}
			for _, ch := range c.charges {
				s := shares[ch.conn]
				if s == nil {
					name := ch.conn
					s = b.join(func() { shed = append(shed, name) })
					shares[ch.conn] = s
				}
				s.Charge(ch.bytes)
			}
			if !slices.Equal(shed, c.wantShed) || b.total.Load() != c.wantTotal {
				t.Fatalf("shed %v, total %d; want %v, %d", shed, b.total.Load(), c.wantShed, c.wantTotal)
			}
			for _, s := range shares {
				s.leave()
			}
			if b.total.Load() != 0 || len(b.members) != 0 {
				t.Fatalf("after every connection left: total %d, %d members", b.total.Load(), len(b.members))
			}
		})
	}
}

// A shed connection drops the Deliver frames it still has queued and
// closes with CloseShed after an Error frame saying why.
func TestClientConnShedDropsQueuedDeliveries(t *testing.T) {
	ctx, ws := serveConn(t, func(c *clientConn) {
		for _, id := range []uint64{1, 2, 3} {
			if err := c.Send(deliverOf(id)); err != nil {
				t.Error(err)
			}
		}
		c.shed()
	})
	var got []string
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != CloseShed {
				t.Fatalf("closed with %v, want %d", err, CloseShed)
			}
			break
		}
		var f opsyncpb.ServerFrame
		if err := proto.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		switch {
		case f.GetDeliver() != nil:
			got = append(got, "deliver")
		case f.GetError() != nil:
			got = append(got, f.GetError().Reason)
		}
	}
	if want := []string{shedDescription}; !slices.Equal(got, want) {
		t.Fatalf("read %q, want %q", got, want)
	}
}
