package edge

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

func deliverOf(ids ...uint64) *opsyncpb.ServerFrame {
	d := &opsyncpb.Deliver{}
	for _, id := range ids {
		d.Messages = append(d.Messages, &opsyncpb.SyncMessage{BizType: "A", OplogId: id})
	}
	return &opsyncpb.ServerFrame{Frame: &opsyncpb.ServerFrame_Deliver{Deliver: d}}
}

// Deliver frames queued together leave as one WebSocket message that
// decodes to one Deliver with every message in order; any other frame
// leaves on its own, in its place.
func TestClientConnCoalescesQueuedDeliverFrames(t *testing.T) {
	ctx, ws := serveConn(t, func(c *clientConn) {
		shared, _ := proto.Marshal(deliverOf(2, 3))
		state, _ := proto.Marshal(&opsyncpb.ServerFrame{Frame: &opsyncpb.ServerFrame_State{State: &opsyncpb.StateUpdate{Kind: "block", Id: "b1", Version: 7}}})
		for _, err := range []error{
			c.Send(deliverOf(1)),
			c.SendEncoded(shared, true), // as the hub shares it
			c.Send(deliverOf(4)),
			c.SendEncoded(state, false), // shared too, but not a Deliver
			c.Send(&opsyncpb.ServerFrame{Frame: &opsyncpb.ServerFrame_Error{Error: &opsyncpb.Error{Code: 1, Reason: "not a delivery"}}}),
			c.Send(deliverOf(5)),
		} {
			if err != nil {
				t.Error(err)
			}
		}
	})
	var got []string
	for range 4 {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var f opsyncpb.ServerFrame
		if err := proto.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		switch {
		case f.GetState() != nil:
			got = append(got, "state")
		case f.GetDeliver() != nil:
			s := "deliver"
			for _, m := range f.GetDeliver().Messages {
				s += " " + string(rune('0'+m.OplogId))
			}
			got = append(got, s)
		default:
			got = append(got, "other")
		}
	}
	want := []string{"deliver 1 2 3 4", "state", "other", "deliver 5"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("WebSocket messages %q, want %q", got, want)
	}
}

// serveConn serves one WebSocket through a clientConn, whose queue queue
// fills before its writer starts, and returns the client's end.
func serveConn(t *testing.T, queue func(c *clientConn)) (context.Context, *websocket.Conn) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		c := newHeldClientConn(ws)
		queue(c)
		c.release()
		<-r.Context().Done()
		c.Close(1000, "")
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ctx, ws
}
