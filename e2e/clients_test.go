package e2e

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opsync/opsync/client"
)

// appClient is a Go client connected to a test server, collecting what its
// callbacks receive.
type appClient struct {
	*client.Client
	msgs chan client.Message
}

type clientSpec struct {
	user, device string
	biz          []string
	report       bool   // report every message received
	state        string // state file; "" for a fresh one
	osType       string
	appVersion   string
}

// connectClient connects a client and waits until the server accepted it.
func connectClient(t *testing.T, base, instance string, s clientSpec) *appClient {
	t.Helper()
	if s.state == "" {
		s.state = filepath.Join(t.TempDir(), "state.json")
	}
	up := make(chan struct{})
	var once sync.Once
	c, err := client.New(client.Options{
		Server: base, InstanceID: instance, DeviceID: s.device, StateFile: s.state,
		OSType: s.osType, AppVersion: s.appVersion, MinBackoff: 20 * time.Millisecond,
		OnStateChange: func(connected bool) {
			if connected {
				once.Do(func() { close(up) })
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ac := &appClient{Client: c, msgs: make(chan client.Message, 10000)}
	for _, b := range s.biz {
		if err := c.RegisterBiz(b, func(m client.Message) {
			ac.msgs <- m
			if s.report {
				c.ReportMsgReceived(m)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	goOnline(t, c, s.user, up)
	return ac
}

// goOnline signs c in as user (none: device-only), brings it to the
// foreground and waits until up is closed (its OnStateChange saw the
// server's Connected); the client is closed when the test ends.
func goOnline(t *testing.T, c *client.Client, user string, up <-chan struct{}) {
	t.Helper()
	if err := tryOnline(t, c, user, up); err != nil {
		t.Fatal(err)
	}
}

// tryOnline is goOnline answering its failure, for goroutines other than
// the test's.
func tryOnline(t *testing.T, c *client.Client, user string, up <-chan struct{}) error {
	t.Cleanup(func() { c.Close() })
	if user != "" {
		if err := c.UpdateUserInfo(user, "session-"+user); err != nil {
			return err
		}
	}
	if err := c.AppToForeground(); err != nil {
		return err
	}
	select {
	case <-up:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("client of %s (device %s) did not connect", user, c.SyncDeviceID())
	}
}

// next returns the next message the client received.
func (c *appClient) next(t *testing.T) client.Message {
	t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("no message within 30s")
		return client.Message{}
	}
}

// expect checks that the next messages are exactly msgIDs, in order.
func (c *appClient) expect(t *testing.T, msgIDs ...string) []client.Message {
	t.Helper()
	out := make([]client.Message, 0, len(msgIDs))
	for i, id := range msgIDs {
		m := c.next(t)
		if m.ThirdMsgID != id {
			t.Fatalf("message %d is %q (%s, oplog %d), want %q", i, m.ThirdMsgID, m.BizType, m.OplogID, id)
		}
		out = append(out, m)
	}
	return out
}

func pushOK(t *testing.T, base, instance, biz, linkToken, msgID string, extra ...any) uint64 {
	t.Helper()
	body := map[string]any{"bizType": biz, "linkToken": linkToken, "thirdMsgId": msgID, "payload": "p-" + msgID}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i].(string)] = extra[i+1]
	}
	st, a := push(t, base, instance, body)
	if st != 200 || a.Msg != "SUCCESS" {
		t.Fatalf("push %s: %d %+v", msgID, st, a)
	}
	return a.OplogID
}
