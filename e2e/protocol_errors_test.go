package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A protocol error sends an Error frame and closes the WebSocket with the
// same code, and the server keeps serving.
func TestClientProtocolErrorsCloseWithCode(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_PROTO"
	putBizType(t, srv.URL, inst, "CHAT", map[string]any{})
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/webapi/sync/ws"
	frame := func(f *opsyncpb.ClientFrame) []byte {
		b, err := proto.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	connect := func(inst, user, device string, biz ...string) []byte {
		c := &opsyncpb.Connect{InstanceId: inst, UserId: user, DeviceId: device}
		for _, b := range biz {
			c.BizTypes = append(c.BizTypes, &opsyncpb.SyncPoint{BizType: b})
		}
		return frame(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Connect{Connect: c}})
	}
	type msg struct {
		typ  websocket.MessageType
		data []byte
	}
	bin := func(b []byte) msg { return msg{websocket.MessageBinary, b} }
	ping := frame(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Ping{Ping: &opsyncpb.Ping{Nonce: 1}}})
	open := frame(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Open{Open: &opsyncpb.Open{Kind: "no-such-kind", Id: "x"}}})
	for _, tc := range []struct {
		name string
		send []msg
		code int
	}{
		{"undecodable first frame", []msg{bin([]byte{0xff, 0xff, 0xff})}, 4400},
		{"text frame", []msg{{websocket.MessageText, []byte("hello")}}, 4400},
		{"empty frame", []msg{bin(nil)}, 4400},
		{"first frame not connect", []msg{bin(ping)}, 4409},
		{"connect without device", []msg{bin(connect(inst, "u", ""))}, 4400},
		{"connect with a bad bizType", []msg{bin(connect(inst, "u", "d1", "bad.biz"))}, 4400},
		{"unknown instance", []msg{bin(connect("ws_NONE", "u", "d1"))}, 4404},
		{"connect twice", []msg{bin(connect(inst, "u", "d1")), bin(connect(inst, "u", "d1"))}, 4409},
		{"garbage after connect", []msg{bin(connect(inst, "u", "d1")), bin([]byte{0x0a, 0xff})}, 4400},
		{"open of an unknown kind of source", []msg{bin(connect(inst, "u", "d1")), bin(open)}, 4400},
		// The standard "message too big", sent by the WebSocket layer itself.
		{"frame over 64 KiB", []msg{bin(connect(inst, "u", "d1")), bin(make([]byte, 70<<10))}, 1009},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"opsync.v1"}})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			for _, m := range tc.send {
				if err := ws.Write(ctx, m.typ, m.data); err != nil {
					t.Fatal(err)
				}
			}
			var lastErr *opsyncpb.Error
			for {
				_, b, err := ws.Read(ctx)
				if err != nil {
					if got := int(websocket.CloseStatus(err)); got != tc.code {
						t.Fatalf("closed with %d (%v), want %d", got, err, tc.code)
					}
					if tc.code >= 4000 && (lastErr == nil || int(lastErr.Code) != tc.code || lastErr.Reason == "") {
						t.Fatalf("no Error frame with code %d and a reason before the close: %v", tc.code, lastErr)
					}
					return
				}
				f := &opsyncpb.ServerFrame{}
				if err := proto.Unmarshal(b, f); err != nil {
					t.Fatalf("server frame: %v", err)
				}
				if e := f.GetError(); e != nil {
					lastErr = e
				}
			}
		})
	}
	// The server still serves pushes.
	if st, a := push(t, srv.URL, inst, map[string]any{"bizType": "CHAT", "linkToken": "u", "thirdMsgId": "x", "payload": "y"}); st != 200 || a.Msg != "SUCCESS" {
		t.Fatalf("push after protocol errors: %d %+v", st, a)
	}
}
