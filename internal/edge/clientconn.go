package edge

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// WebSocket close codes of the client protocol. The client treats 4400,
// 4401, 4403, 4404 and 4409 as final and reconnects after any other.
const (
	CloseBadFrame         = 4400
	CloseUnauthorized     = 4401
	CloseForbidden        = 4403
	CloseUnknownInstance  = 4404
	CloseTimeout          = 4408
	CloseProtocolError    = 4409
	CloseTooSlow          = 4429
	CloseInternal         = 4500
	closeGoingAway        = 1001
	outboundFrames        = 256
	writeTimeout          = 10 * time.Second
	errTooSlowDescription = "client too slow: outbound queue full"
)

var errConnClosed = errors.New("edge: connection closed")

// clientConn is the outbound side of one client WebSocket, the FrameSink
// of its client actor. Frames go through a bounded queue to one writer
// goroutine, so the actor never blocks on the network; a client that lets
// the queue fill is disconnected.
type clientConn struct {
	ws   *websocket.Conn
	out  chan *opsyncpb.ServerFrame
	done chan struct{}

	mu        sync.Mutex
	closed    bool
	closeCode int
	closeWhy  string
}

func newClientConn(ws *websocket.Conn) *clientConn {
	c := &clientConn{ws: ws, out: make(chan *opsyncpb.ServerFrame, outboundFrames), done: make(chan struct{})}
	go c.writeLoop()
	return c
}

// Send implements actors.FrameSink.
func (c *clientConn) Send(f *opsyncpb.ServerFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errConnClosed
	}
	select {
	case c.out <- f:
		return nil
	default:
		c.closeLocked(CloseTooSlow, errTooSlowDescription)
		return errConnClosed
	}
}

// Close implements actors.FrameSink: an Error frame (for protocol errors)
// and then the close code go out after the frames already queued.
func (c *clientConn) Close(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked(code, reason)
}

func (c *clientConn) closeLocked(code int, reason string) {
	if c.closed {
		return
	}
	c.closed, c.closeCode, c.closeWhy = true, code, reason
	close(c.out)
}

func (c *clientConn) writeLoop() {
	defer close(c.done)
	for f := range c.out {
		if err := c.write(f); err != nil {
			c.Close(closeGoingAway, "write failed")
			c.ws.CloseNow()
			for range c.out {
			}
			return
		}
	}
	c.mu.Lock()
	code, why := c.closeCode, c.closeWhy
	c.mu.Unlock()
	if code >= 4000 {
		_ = c.write(&opsyncpb.ServerFrame{Frame: &opsyncpb.ServerFrame_Error{Error: &opsyncpb.Error{Code: uint32(code), Reason: why}}})
	}
	_ = c.ws.Close(websocket.StatusCode(code), why)
}

func (c *clientConn) write(f *opsyncpb.ServerFrame) error {
	b, err := proto.Marshal(f)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageBinary, b)
}
