package actors

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// The node's fan-out hub, between a global stream and the client actors
// of many connections: one push, one encoded frame, the same bytes to
// every client. (Not parallel: it reads a process-wide counter.)
func TestHubSharesOneFramePerPush(t *testing.T) {
	for _, clients := range []int{1, 5, 50} {
		t.Run(fmt.Sprintf("%d clients", clients), func(t *testing.T) {
			system, clock := newSystem(t), newFakeClock()
			deps := (&Deps{Store: newTestStore(), Clock: clock, RetryInterval: testRetry, TickInterval: testTick, Logger: quiet}).withDefaults()
			global := &opsyncpb.BizTypeConfig{BizType: "BIZ", Scope: opsyncpb.Scope_SCOPE_GLOBAL, Persistent: true, PushToOnline: true, MaxRetries: 6, Online: true}
			grains := realStreams(system, deps, global)
			stream := grains.Get(GlobalStream(testInstance, "BIZ"), KindStream)
			push := func(msg string) {
				t.Helper()
				r := request[*opsyncpb.PushResult](t, system, stream, &opsyncpb.Push{Entry: entry("BIZ", msg)})
				if r.Code != "SUCCESS" {
					t.Fatalf("push %s: %s", msg, result(r))
				}
			}

			// Each client's backlog (entry 1) shows it is attached.
			push("before")
			sinks := make([]*testSink, clients)
			for i := range sinks {
				sinks[i] = newTestSink(t)
				StartClient(system, grains, ClientParams{InstanceID: testInstance, UserID: fmt.Sprintf("u%d", i), DeviceID: fmt.Sprintf("d%d", i),
					BizTypes: map[string]uint64{"BIZ": 0}, Sink: sinks[i], Logger: quiet, Clock: clock})
			}
			for _, s := range sinks {
				s.expectFrames("BIZ1 (shared)")
			}

			for i := range 3 {
				before := testutil.ToFloat64(metrics.HubFramesEncoded)
				push(fmt.Sprintf("live-%d", i))
				var first []byte
				for c, s := range sinks {
					f := s.next()
					if want := fmt.Sprintf("BIZ%d (shared)", i+2); f.String() != want {
						t.Fatalf("client %d got %q, want %q", c, f, want)
					}
					if c == 0 {
						first = f.bytes
					} else if &f.bytes[0] != &first[0] || len(f.bytes) != len(first) {
						t.Fatalf("client %d got its own bytes, not the hub's one encoding", c)
					}
				}
				if got := testutil.ToFloat64(metrics.HubFramesEncoded) - before; got != 1 {
					t.Fatalf("push %d: the hub encoded %v frames, want 1", i, got)
				}
			}
		})
	}
}
