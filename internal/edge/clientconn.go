package edge

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// WebSocket close codes of the client protocol. The client treats 4400,
// 4401, 4403, 4404 and 4409 as final and reconnects after any other
// (4430, rate limited, and 4431, shed, included: after its backoff).
const (
	CloseBadFrame        = 4400
	CloseUnauthorized    = 4401
	CloseForbidden       = 4403
	CloseUnknownInstance = 4404
	CloseTimeout         = 4408
	CloseProtocolError   = 4409
	CloseTooSlow         = 4429
	CloseRateLimited     = 4430
	// CloseShed: the node's send budget was exceeded and this connection
	// held the most (see sendbudget.go); the client reconnects after its
	// backoff and resumes from its sync points.
	CloseShed      = 4431
	CloseInternal  = 4500
	closeGoingAway = 1001
	outboundFrames = 256
	writeTimeout   = 10 * time.Second
	// coalesceBytes bounds one WebSocket message of coalesced Deliver
	// frames (far below the clients' 16 MiB read limit).
	coalesceBytes = 1 << 20
	// keepWriteBuffer bounds the write buffer a connection keeps between
	// writes.
	keepWriteBuffer       = 16 << 10
	errTooSlowDescription = "client too slow: outbound queue full"
	shedDescription       = "shed: node memory budget"
)

var errConnClosed = errors.New("edge: connection closed")

// clientConn is the outbound side of one client WebSocket, the FrameSink
// of its client actor. Frames go through a bounded queue to a writer
// goroutine, so the actor never blocks on the network; a client that lets
// the queue fill is disconnected. The writer runs only while there is
// something to write and the queue's array is kept small, so an idle
// connection holds neither a writer's stack nor a queue of frames (the
// bulk of an idle client's memory before: a 256-frame channel buffer and a
// parked goroutine).
type clientConn struct {
	ws  *websocket.Conn
	buf []byte // the writer's
	// wtimer ends a write that takes longer than writeTimeout (one timer
	// per connection, not a deadline context per write).
	wtimer *time.Timer

	// discard: the connection was shed; the Deliver frames still queued
	// are dropped, not written (their entries go again after the
	// reconnect).
	discard atomic.Bool

	mu sync.Mutex
	// queue: the frames waiting for the writer, at most outboundFrames;
	// spare: the array of the batch the writer had before, for reuse.
	queue, spare []outFrame
	writing      bool // a writer goroutine runs
	held         bool // tests: the writer does not start until release
	closed       bool
	closeCode    int
	closeWhy     string
}

// keepQueue bounds the queue arrays an idle connection keeps.
const keepQueue = 4

func newClientConn(ws *websocket.Conn) *clientConn {
	c := &clientConn{ws: ws}
	c.wtimer = time.AfterFunc(writeTimeout, func() { ws.CloseNow() })
	c.wtimer.Stop()
	return c
}

// outFrame is a frame queued for the writer: a message, or the encoding
// of a Deliver frame the hub shared.
type outFrame struct {
	frame       *opsyncpb.ServerFrame
	raw         []byte
	rawDelivers bool // raw is a Deliver frame
}

// delivers reports whether f delivers messages: such frames may leave
// together as one WebSocket message, since the protobuf encodings of two
// ServerFrames that both hold a Deliver concatenate into one ServerFrame
// whose Deliver holds the messages of both, in order.
func (f outFrame) delivers() bool {
	if f.raw != nil {
		return f.rawDelivers
	}
	return f.frame.GetDeliver() != nil
}

// newHeldClientConn is a connection whose writer does not start until
// release: its frames queue up first (tests of coalescing).
func newHeldClientConn(ws *websocket.Conn) *clientConn {
	c := newClientConn(ws)
	c.held = true
	return c
}

// release lets a held connection's writer start.
func (c *clientConn) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = false
	c.startLocked()
}

// Send implements actors.FrameSink.
func (c *clientConn) Send(f *opsyncpb.ServerFrame) error { return c.enqueue(outFrame{frame: f}) }

// SendEncoded implements actors.FrameSink.
func (c *clientConn) SendEncoded(b []byte, delivers bool) error {
	return c.enqueue(outFrame{raw: b, rawDelivers: delivers})
}

func (c *clientConn) enqueue(f outFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errConnClosed
	}
	if len(c.queue) >= outboundFrames {
		c.closeLocked(CloseTooSlow, errTooSlowDescription)
		return errConnClosed
	}
	c.queue = append(c.queue, f)
	c.startLocked()
	return nil
}

// startLocked starts the writer unless it runs.
func (c *clientConn) startLocked() {
	if !c.writing && !c.held {
		c.writing = true
		go c.writeLoop()
	}
}

// shed closes the connection for the node's send budget, dropping the
// Deliver frames queued and not yet written.
func (c *clientConn) shed() {
	c.discard.Store(true)
	c.Close(CloseShed, shedDescription)
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
	c.startLocked() // it writes what is queued, then the close
}

// take hands the writer the queued frames, giving back the array of its
// last batch (done). Nil: nothing to write; closing: the connection is to
// be closed now; otherwise the writer ends (writing is false again).
func (c *clientConn) take(done []outFrame) (batch []outFrame, closing bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if done != nil {
		clear(done)
		c.spare = done[:0]
	}
	if len(c.queue) > 0 {
		batch, c.queue, c.spare = c.queue, c.spare, nil
		return batch, false
	}
	if c.closed {
		return nil, true
	}
	c.writing = false
	if cap(c.queue) > keepQueue {
		c.queue = nil
	}
	if cap(c.spare) > keepQueue {
		c.spare = nil
	}
	return nil, false
}

// writeLoop writes the queued frames until none is left, then ends (or
// closes the connection once it is closed and drained). Deliver frames
// queued together leave in one WebSocket message (one write), however
// many there are.
func (c *clientConn) writeLoop() {
	var batch []outFrame
	for {
		var closing bool
		batch, closing = c.take(batch)
		if closing {
			break
		}
		if batch == nil {
			return
		}
		if err := c.writeBatch(batch); err != nil {
			c.fail()
			return
		}
	}
	c.mu.Lock()
	code, why := c.closeCode, c.closeWhy
	c.mu.Unlock()
	if code >= 4000 {
		_ = c.write(outFrame{frame: &opsyncpb.ServerFrame{Frame: &opsyncpb.ServerFrame_Error{Error: &opsyncpb.Error{Code: uint32(code), Reason: why}}}})
	}
	_ = c.ws.Close(websocket.StatusCode(code), why)
}

// writeBatch writes frames in order: each run of Deliver frames as one
// message (up to coalesceBytes), any other frame on its own.
func (c *clientConn) writeBatch(batch []outFrame) error {
	for i := 0; i < len(batch); {
		f := batch[i]
		i++
		if f.delivers() && c.discard.Load() {
			continue
		}
		if !f.delivers() {
			if err := c.write(f); err != nil {
				return err
			}
			continue
		}
		b, err := c.appendFrame(c.buf[:0], f)
		for err == nil && len(b) < coalesceBytes && i < len(batch) && batch[i].delivers() {
			b, err = c.appendFrame(b, batch[i])
			i++
		}
		if err == nil {
			err = c.writeBytes(b)
		}
		// Keep a small buffer for the next write; a large one (a backlog
		// went out) is let go, so that idle connections hold little.
		if cap(b) <= keepWriteBuffer {
			c.buf = b[:0]
		} else {
			c.buf = nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// fail ends a connection whose write failed.
func (c *clientConn) fail() {
	c.mu.Lock()
	c.closeLocked(closeGoingAway, "write failed")
	c.queue, c.spare, c.writing = nil, nil, false
	c.mu.Unlock()
	c.ws.CloseNow()
}

func (c *clientConn) appendFrame(b []byte, f outFrame) ([]byte, error) {
	if f.raw != nil {
		return append(b, f.raw...), nil
	}
	return proto.MarshalOptions{}.MarshalAppend(b, f.frame)
}

func (c *clientConn) write(f outFrame) error {
	b, err := c.appendFrame(nil, f)
	if err != nil {
		return err
	}
	return c.writeBytes(b)
}

func (c *clientConn) writeBytes(b []byte) error {
	c.wtimer.Reset(writeTimeout)
	defer c.wtimer.Stop()
	metrics.ConnWrites.Inc()
	return c.ws.Write(context.Background(), websocket.MessageBinary, b)
}
