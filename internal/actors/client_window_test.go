package actors

import (
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Each stream a connection reads gets an equal share of its window, in
// messages and bytes; a stream it reads later lowers the others' shares.
func TestClientSharesItsWindowAmongItsStreams(t *testing.T) {
	global := &opsyncpb.BizTypeConfig{BizType: "G", Scope: opsyncpb.Scope_SCOPE_GLOBAL, PushToOnline: true, Online: true, Persistent: true}
	c := launchClientTest(t, ClientParams{InstanceID: testInstance, UserID: "alice", DeviceID: "dev1", BizTypes: map[string]uint64{"A": 0},
		Window: 600, WindowBytes: 6000}, true, nil, global)
	isSub := func(m proto.Message) bool { _, ok := m.(*opsyncpb.Subscribe); return ok }
	// A may come from the user's or the device's stream: two streams.
	for _, stream := range []string{aliceStream, dev1Stream} {
		s := c.awaitFromClient(stream, isSub).(*opsyncpb.Subscribe)
		if s.Window != 300 || s.WindowBytes != 3000 {
			t.Fatalf("%s: share %d messages, %d bytes; want 300, 3000", stream, s.Window, s.WindowBytes)
		}
	}
	c.client.Handle(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_RegisterBiz{RegisterBiz: &opsyncpb.RegisterBiz{BizType: "G"}}})
	s := c.awaitFromClient(GlobalStream(testInstance, "G"), isSub).(*opsyncpb.Subscribe)
	if s.Window != 200 || s.WindowBytes != 2000 {
		t.Fatalf("the global stream's share: %d messages, %d bytes; want 200, 2000", s.Window, s.WindowBytes)
	}
	for _, stream := range []string{aliceStream, dev1Stream} {
		w := c.awaitFromClient(stream, func(m proto.Message) bool { _, ok := m.(*opsyncpb.SubscriberWindow); return ok }).(*opsyncpb.SubscriberWindow)
		if w.Window != 200 || w.WindowBytes != 2000 {
			t.Fatalf("%s: new share %d messages, %d bytes; want 200, 2000", stream, w.Window, w.WindowBytes)
		}
	}
}

// meterLog is a SendMeter that keeps the sum of its charges.
type meterLog struct {
	mu   sync.Mutex
	held int64
}

func (m *meterLog) Charge(delta int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.held += delta
}

func (m *meterLog) value() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.held
}

// The meter hears what the connection holds: the entries delivered and
// not acknowledged and those queued behind its window; nothing once it is
// gone.
func TestClientMetersWhatItHolds(t *testing.T) {
	size := int64(state.EntrySize(ent("A", 1)))
	meter := &meterLog{}
	c := launchClientTest(t, ClientParams{InstanceID: testInstance, UserID: "alice", DeviceID: "dev1", BizTypes: map[string]uint64{"A": 0},
		Window: 2, Meter: meter}, true, nil)
	c.awaitFromClient(aliceStream, func(m proto.Message) bool { _, ok := m.(*opsyncpb.Subscribe); return ok })
	steps := []struct {
		name string
		act  func()
		want int64
	}{
		{"three delivered, two in flight, one queued", func() { c.deliver(aliceStream, false, ents("A", 1, 2, 3)...); c.sink.expectFrames("A1 A2") }, 3 * size},
		{"one acknowledged, the queued one sent", func() { c.ack(sp("A", 1)); c.sink.expectFrames("A3") }, 2 * size},
		{"all acknowledged", func() { c.ack(acks("A", 2, 3)...); c.nextAck(aliceStream) }, 0},
		{"one more in flight", func() { c.deliver(aliceStream, false, ent("A", 4)); c.sink.expectFrames("A4 (shared)") }, size},
		{"the connection is gone", func() {
			c.client.Stop()
			c.awaitFromClient(aliceStream, func(m proto.Message) bool { _, ok := m.(*opsyncpb.Unsubscribe); return ok })
		}, 0},
	}
	for _, s := range steps {
		s.act()
		if got := meter.value(); got != s.want {
			t.Fatalf("%s: metered %d bytes, want %d", s.name, got, s.want)
		}
	}
}
