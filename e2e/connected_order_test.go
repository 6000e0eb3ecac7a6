package e2e

import (
	"fmt"
	"testing"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A client that has read Connected is online for every push: a
// non-persistent push it makes to itself right after (through the HTTP
// API) reaches it, not NOT_ONLINE. Each round is a new user, so that the
// push races the activation of a stream, not an attachment made before.
func TestConnectedMeansOnlineForPushes(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_CONNORDER"
	putBizType(t, srv.URL, inst, "TYPING", map[string]any{"target": "user", "persistent": false})
	for i := range 50 {
		user := fmt.Sprint("u", i)
		c := dialWire(t, srv.URL, &opsyncpb.Connect{InstanceId: inst, UserId: user, DeviceId: "d-" + user,
			BizTypes: []*opsyncpb.SyncPoint{{BizType: "TYPING"}}})
		st, a := push(t, srv.URL, inst, map[string]any{"bizType": "TYPING", "linkToken": user, "thirdMsgId": "t", "payload": "typing"})
		if st != 200 || a.Msg != "SUCCESS" {
			t.Fatalf("round %d: a push right after Connected answered %d %+v, want SUCCESS", i, st, a)
		}
		if got := c.nextDelivered(t); len(got) != 1 || got[0] != "t" {
			t.Fatalf("round %d: got %v, want the push", i, got)
		}
		c.ws.CloseNow()
	}
}
