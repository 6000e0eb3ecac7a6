package actors

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Connected is written once the client's streams answered its
// subscriptions (so a push after it finds the client attached), or after
// connectedWait without the ones that did not; frames that come before it
// wait for it; the edge reads the client's frames once it is written.
func TestClientConnectedAfterSubscriptions(t *testing.T) {
	cases := []struct {
		name    string
		biz     map[string]uint64
		answer  bool // the streams answer subscriptions
		deliver bool // a delivery reaches the client before Connected could go
		frames  []string
	}{
		{name: "the streams answer", biz: map[string]uint64{"A": 0}, answer: true, frames: []string{"connected"}},
		{name: "nothing to attach to", answer: false, frames: []string{"connected"}},
		{name: "a stream does not answer: after the wait", biz: map[string]uint64{"A": 0}, frames: []string{"connected"}},
		{name: "a delivery before Connected follows it", biz: map[string]uint64{"A": 0}, deliver: true, frames: []string{"connected", "A1 A2 (shared)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct := launchClientTest(t, ClientParams{InstanceID: testInstance, UserID: "alice", DeviceID: "dev1", BizTypes: c.biz, Window: 10,
				Connected: &opsyncpb.Connected{UserId: "alice", DeviceId: "dev1"}}, c.answer, nil)
			if len(c.biz) > 0 {
				ct.awaitFromClient(aliceStream, func(m proto.Message) bool { _, ok := m.(*opsyncpb.Subscribe); return ok })
			}
			if !c.answer && len(c.biz) > 0 {
				if c.deliver {
					ct.deliver(aliceStream, false, ents("A", 1, 2)...)
					// Taken (an ack of it reaches the stream), not written.
					ct.ack(sp("A", 1))
					ct.nextAck(aliceStream)
				}
				select {
				case <-ct.client.Ready():
					t.Fatal("ready before the stream answered or the wait ended")
				case f := <-ct.sink.frames:
					t.Fatalf("%q written before the stream answered or the wait ended", f)
				default:
				}
				ct.clock.awaitTimerWithin(t, connectedWait)
				ct.clock.Advance(connectedWait)
			}
			awaitClosed(t, ct.client.Ready(), "the client to be ready")
			ct.sink.expectFrames(c.frames...)
		})
	}
}
