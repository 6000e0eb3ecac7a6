package actors

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A client actor stops a bizType its instance takes offline or deletes,
// and resumes it from its sync point when it comes back.

func onlineConfig(biz string, online bool) *opsyncpb.BizTypeConfig {
	return &opsyncpb.BizTypeConfig{BizType: biz, Online: online, Persistent: true}
}

func isSubscribe(m proto.Message) bool   { _, ok := m.(*opsyncpb.Subscribe); return ok }
func isUnsubscribe(m proto.Message) bool { _, ok := m.(*opsyncpb.Unsubscribe); return ok }

func TestClientWithholdsWhatTheInstanceStops(t *testing.T) {
	both := []*opsyncpb.BizTypeConfig{onlineConfig("A", true), onlineConfig("B", true)}
	cases := []struct {
		name   string
		stop   *opsyncpb.BizTypeList // configs read anew: A stops
		resume *opsyncpb.BizTypeList // and again: A resumes
		purges string                // the resumed subscription's cutoffs
	}{
		{name: "offline, then online",
			stop:   &opsyncpb.BizTypeList{Version: 2, Configs: []*opsyncpb.BizTypeConfig{onlineConfig("A", false), onlineConfig("B", true)}},
			resume: &opsyncpb.BizTypeList{Version: 3, Configs: both}, purges: "map[]"},
		{name: "deleted, then created again within the grace period",
			stop:   &opsyncpb.BizTypeList{Version: 2, Configs: both[1:], Deleted: []string{"A"}},
			resume: &opsyncpb.BizTypeList{Version: 3, Configs: both}, purges: "map[]"},
		{name: "deleted, then created again after a final deletion: its cutoff goes along",
			stop:   &opsyncpb.BizTypeList{Version: 2, Configs: both[1:], Deleted: []string{"A"}},
			resume: &opsyncpb.BizTypeList{Version: 3, Configs: both, PurgedBefore: map[string]int64{"A": 5, "C": 9}}, purges: "map[A:5]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct := startClientTest(t, 10, map[string]uint64{"A": 0, "B": 0}, true, both...)
			ct.deliver(aliceStream, false, ents("A", 1, 2, 3)...)
			ct.sink.expectFrames("A1-3 (shared)")
			ct.ack(sp("A", 1))
			ct.nextAck(aliceStream)

			ct.system.Root.Send(ct.client.pid, &configsChanged{list: c.stop})
			un := ct.awaitFromClient(aliceStream, isUnsubscribe).(*opsyncpb.Unsubscribe)
			if fmt.Sprint(un.BizTypes) != "[A]" {
				t.Fatalf("detached %v, want [A]", un.BizTypes)
			}
			// A's entries still on their way are not written; B's are.
			ct.deliver(aliceStream, false, ent("A", 4))
			ct.deliver(aliceStream, false, ent("B", 5))
			ct.sink.expectFrames("B5 (shared)")

			ct.system.Root.Send(ct.client.pid, &configsChanged{list: c.resume})
			sub := ct.awaitFromClient(aliceStream, isSubscribe).(*opsyncpb.Subscribe)
			if fmt.Sprint(sub.After) != "map[A:1]" || fmt.Sprint(sub.PurgedBefore) != c.purges {
				t.Fatalf("resumed after %v with cutoffs %v, want A from its sync point 1 with %s", sub.After, sub.PurgedBefore, c.purges)
			}
			// The entries delivered and not acknowledged go again.
			ct.deliver(aliceStream, false, ents("A", 2, 3, 4)...)
			ct.sink.expectFrames("A2-4 (shared)")
		})
	}
}

// Configs older than those the client has change nothing; a client that
// connects while a bizType is offline does not subscribe it until it is
// online.
func TestClientConfigsOrderAndConnectWhileOffline(t *testing.T) {
	ct := startClientTest(t, 10, map[string]uint64{"A": 3, "B": 0}, true, onlineConfig("A", false), onlineConfig("B", true))
	if fmt.Sprint(ct.userSub.After) != "map[B:0]" {
		t.Fatalf("subscribed %v while A is offline, want B only", ct.userSub.After)
	}
	ct.system.Root.Send(ct.client.pid, &configsChanged{list: &opsyncpb.BizTypeList{Version: 5, Configs: []*opsyncpb.BizTypeConfig{onlineConfig("A", true), onlineConfig("B", true)}}})
	if sub := ct.awaitFromClient(aliceStream, isSubscribe).(*opsyncpb.Subscribe); fmt.Sprint(sub.After) != "map[A:3]" {
		t.Fatalf("subscribed %v when A came online, want A from its sync point 3", sub.After)
	}
	// A stale answer (version 4) does not take A offline again.
	ct.system.Root.Send(ct.client.pid, &configsChanged{list: &opsyncpb.BizTypeList{Version: 4, Configs: []*opsyncpb.BizTypeConfig{onlineConfig("A", false), onlineConfig("B", true)}}})
	// Registering C passes the client's mailbox: the stale answer came first.
	ct.client.Handle(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_RegisterBiz{RegisterBiz: &opsyncpb.RegisterBiz{BizType: "C"}}})
	ct.awaitFromClient(aliceStream, func(m proto.Message) bool {
		s, ok := m.(*opsyncpb.Subscribe)
		return ok && s.After["C"] == 0 && len(s.After) == 1
	})
	ct.deliver(aliceStream, false, ent("A", 4))
	ct.sink.expectFrames("A4 (shared)")
}
