package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// On connect, every registered bizType's backlog goes out merged into a
// few batched frames, in order per bizType.
func TestMergedPushOnConnectInBatchedFrames(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst, user = "ws_MERGE", "kai"
	bizTypes := []string{"ORDERS", "NEWS", "BADGE"}
	for _, b := range bizTypes {
		putBizType(t, srv.URL, inst, b, map[string]any{"target": "user", "multiDevice": true})
	}
	const perBiz = 100
	for i := 0; i < perBiz; i++ {
		for _, b := range bizTypes {
			pushOK(t, srv.URL, inst, b, user, fmt.Sprintf("%s-%d", b, i))
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/webapi/sync/ws", &websocket.DialOptions{Subprotocols: []string{"opsync.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	c := &opsyncpb.Connect{InstanceId: inst, UserId: user, DeviceId: "kai-phone"}
	for _, b := range bizTypes {
		c.BizTypes = append(c.BizTypes, &opsyncpb.SyncPoint{BizType: b})
	}
	b, _ := proto.Marshal(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Connect{Connect: c}})
	if err := ws.Write(ctx, websocket.MessageBinary, b); err != nil {
		t.Fatal(err)
	}
	frames, got := 0, 0
	next := map[string]int{}
	for got < perBiz*len(bizTypes) {
		_, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", got, err)
		}
		f := &opsyncpb.ServerFrame{}
		if err := proto.Unmarshal(data, f); err != nil {
			t.Fatal(err)
		}
		d := f.GetDeliver()
		if d == nil {
			continue
		}
		frames++
		var ack opsyncpb.Ack
		for _, m := range d.Messages {
			if want := fmt.Sprintf("%s-%d", m.BizType, next[m.BizType]); m.ThirdMsgId != want {
				t.Fatalf("got %s, want %s: out of order within its bizType", m.ThirdMsgId, want)
			}
			next[m.BizType]++
			got++
			ack.Received = append(ack.Received, &opsyncpb.SyncPoint{BizType: m.BizType, OplogId: m.OplogId})
		}
		b, _ := proto.Marshal(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Ack{Ack: &ack}})
		if err := ws.Write(ctx, websocket.MessageBinary, b); err != nil {
			t.Fatal(err)
		}
	}
	// 300 messages of three bizTypes in at most a handful of frames (256
	// messages per frame at most), not one frame per message or per bizType.
	if frames > 3 {
		t.Fatalf("%d messages took %d frames", got, frames)
	}
}
