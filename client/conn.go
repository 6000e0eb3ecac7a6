package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

const (
	// readLimit bounds one server frame: a Deliver of 256 messages of
	// 4096 characters each fits many times over.
	readLimit = 16 << 20
	// maxAcksPerFrame bounds the entries of one Ack frame.
	maxAcksPerFrame = 256
)

// errDead ends a connection on which nothing arrived for PongTimeout.
var errDead = errors.New("opsync client: connection dead: no answer to pings")

// conn is one open connection. Its outbox is guarded by Client.mu; the
// connection's writer goroutine writes it.
type conn struct {
	ws       *websocket.Conn
	wake     chan struct{}
	out      []*opsyncpb.ClientFrame
	lastRecv atomic.Int64 // unix nanos of the last frame received
}

// sendLocked queues a frame. Client.mu is held.
func (cn *conn) sendLocked(f *opsyncpb.ClientFrame) {
	cn.out = append(cn.out, f)
	cn.kick()
}

// ackLocked queues an acknowledgement, batched with those queued before
// it. Client.mu is held.
func (cn *conn) ackLocked(biz string, id uint64) {
	sp := &opsyncpb.SyncPoint{BizType: biz, OplogId: id}
	if n := len(cn.out); n > 0 {
		if a := cn.out[n-1].GetAck(); a != nil && len(a.Received) < maxAcksPerFrame {
			a.Received = append(a.Received, sp)
			return
		}
	}
	cn.sendLocked(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Ack{Ack: &opsyncpb.Ack{Received: []*opsyncpb.SyncPoint{sp}}}})
}

func (cn *conn) kick() {
	select {
	case cn.wake <- struct{}{}:
	default:
	}
}

func (cn *conn) write(timeout time.Duration, f *opsyncpb.ClientFrame) error {
	b, err := proto.Marshal(f)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := cn.ws.Write(ctx, websocket.MessageBinary, b); err != nil {
		return fmt.Errorf("opsync client: write: %w", err)
	}
	return nil
}

func (cn *conn) read(ctx context.Context) (*opsyncpb.ServerFrame, error) {
	typ, b, err := cn.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	cn.lastRecv.Store(time.Now().UnixNano())
	if typ != websocket.MessageBinary {
		return nil, errors.New("opsync client: server sent a text frame")
	}
	f := &opsyncpb.ServerFrame{}
	if err := proto.Unmarshal(b, f); err != nil {
		return nil, fmt.Errorf("opsync client: undecodable server frame: %w", err)
	}
	return f, nil
}

// run is the connection loop: connect, serve the connection until it
// ends, wait, connect again; until ctx ends or an error is fatal.
func (c *Client) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	attempt, current := 0, 0 // current: the index in c.urls tried next
	for {
		err := c.connectOnce(ctx, c.urls[current], &attempt)
		if ctx.Err() != nil {
			return
		}
		fatal := IsFatal(err)
		if fatal {
			c.mu.Lock()
			c.fatal = err
			c.mu.Unlock()
		}
		c.events.push(event{err: err})
		if fatal {
			return
		}
		current = (current + 1) % len(c.urls)
		t := time.NewTimer(c.backoff.delay(attempt))
		attempt++
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// connectOnce opens one connection to url and serves it until it ends. It
// sets *attempt to 0 once the server has answered Connected.
func (c *Client) connectOnce(ctx context.Context, url string, attempt *int) error {
	dialCtx, cancel := context.WithTimeout(ctx, c.opts.ConnectTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(dialCtx, url, &websocket.DialOptions{
		HTTPClient: c.opts.HTTPClient, HTTPHeader: c.opts.HTTPHeader, Subprotocols: []string{Subprotocol},
	})
	if err != nil {
		return fmt.Errorf("opsync client: connect: %w", err)
	}
	defer ws.CloseNow()
	if ws.Subprotocol() != Subprotocol {
		ws.Close(websocket.StatusProtocolError, "subprotocol "+Subprotocol+" required")
		return &ProtocolError{Code: CodeProtocolError, Reason: "the server does not speak " + Subprotocol}
	}
	ws.SetReadLimit(readLimit)

	cn := &conn{ws: ws, wake: make(chan struct{}, 1)}
	cn.lastRecv.Store(time.Now().UnixNano())
	c.mu.Lock()
	connect := &opsyncpb.Connect{
		InstanceId: c.opts.InstanceID, UserId: c.userID, DeviceId: c.deviceID, SessionId: c.sessionID,
		OsType: c.opts.OSType, AppVersion: c.opts.AppVersion, Token: c.token,
	}
	for biz := range c.handlers {
		connect.BizTypes = append(connect.BizTypes, &opsyncpb.SyncPoint{BizType: biz, OplogId: c.points.point(biz)})
	}
	c.conn = cn // frames queued from now on follow the Connect
	c.reopenLocked(cn)
	c.reopenCardsLocked(cn)
	c.reopenDocsLocked(cn)
	c.reopenRecordsLocked(cn)
	c.mu.Unlock()
	defer c.detach(cn)
	slices.SortFunc(connect.BizTypes, func(a, b *opsyncpb.SyncPoint) int { return strings.Compare(a.BizType, b.BizType) })

	if err := cn.write(c.opts.WriteTimeout, &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Connect{Connect: connect}}); err != nil {
		return err
	}
	f, err := cn.read(dialCtx)
	if err != nil {
		return connectionEnded(err)
	}
	var withheld []string
	switch m := f.Frame.(type) {
	case *opsyncpb.ServerFrame_Connected:
		withheld = m.Connected.WithheldBizTypes
	case *opsyncpb.ServerFrame_Error:
		return &ProtocolError{Code: int(m.Error.Code), Reason: m.Error.Reason}
	default:
		return errors.New("opsync client: the server's first frame is not Connected")
	}
	c.mu.Lock()
	c.connected, c.withheld = true, withheld
	c.mu.Unlock()
	*attempt = 0
	c.events.push(event{connected: new(true)})

	connCtx, stop := context.WithCancel(ctx)
	writerErr := make(chan error, 1)
	go func() { writerErr <- c.writeLoop(connCtx, ctx, cn) }()
	var protoErr *ProtocolError
	for {
		f, err = cn.read(context.Background()) // the writer closes ws to end this
		if err != nil {
			break
		}
		switch m := f.Frame.(type) {
		case *opsyncpb.ServerFrame_Deliver:
			c.received(cn, m.Deliver.Messages)
		case *opsyncpb.ServerFrame_State:
			c.receivedState(m.State)
			c.receivedCardState(m.State)
			c.receivedDocState(m.State)
			c.receivedRecordState(m.State)
		case *opsyncpb.ServerFrame_DocumentAnswer:
			c.receivedDocAnswer(m.DocumentAnswer)
		case *opsyncpb.ServerFrame_DocumentDataAnswer:
			c.receivedRecordAnswer(m.DocumentDataAnswer)
		case *opsyncpb.ServerFrame_TypedMessage:
			c.receivedTyped(m.TypedMessage)
		case *opsyncpb.ServerFrame_Dynamic:
			c.receivedDynamic(m.Dynamic)
		case *opsyncpb.ServerFrame_Error:
			protoErr = &ProtocolError{Code: int(m.Error.Code), Reason: m.Error.Reason}
		}
	}
	stop()
	werr := <-writerErr
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case protoErr != nil:
		return protoErr
	case werr != nil:
		return werr
	}
	return connectionEnded(err)
}

// received records delivered messages and queues them for their
// callbacks; those reported already are acknowledged again instead.
func (c *Client) received(cn *conn, msgs []*opsyncpb.SyncMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sm := range msgs {
		if c.points.received(sm.BizType, sm.OplogId) {
			m := messageFrom(sm)
			c.events.push(event{msg: &m, cn: cn})
		} else {
			cn.ackLocked(sm.BizType, sm.OplogId)
		}
	}
}

// writeLoop writes the queued frames and the pings of cn until connCtx
// ends; it closes the connection gracefully when the client disconnects
// (clientCtx ends), at once when the connection is dead.
func (c *Client) writeLoop(connCtx, clientCtx context.Context, cn *conn) error {
	ping := time.NewTicker(c.opts.PingInterval)
	defer ping.Stop()
	var nonce uint64
	fail := func(err error) error {
		cn.ws.CloseNow()
		return err
	}
	for {
		select {
		case <-connCtx.Done():
			if clientCtx.Err() != nil {
				cn.ws.Close(websocket.StatusNormalClosure, "client disconnecting")
			}
			return nil
		case <-cn.wake:
			c.mu.Lock()
			frames := cn.out
			cn.out = nil
			c.mu.Unlock()
			for _, f := range frames {
				if err := cn.write(c.opts.WriteTimeout, f); err != nil {
					return fail(err)
				}
			}
		case <-ping.C:
			if time.Since(time.Unix(0, cn.lastRecv.Load())) > c.opts.PongTimeout {
				return fail(errDead)
			}
			nonce++
			if err := cn.write(c.opts.WriteTimeout, &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Ping{Ping: &opsyncpb.Ping{Nonce: nonce}}}); err != nil {
				return fail(err)
			}
		}
	}
}

// detach forgets cn when its connection ends.
func (c *Client) detach(cn *conn) {
	c.mu.Lock()
	if c.conn == cn {
		c.conn = nil
	}
	was := c.connected
	c.connected, c.withheld = false, nil
	c.mu.Unlock()
	if was {
		c.events.push(event{connected: new(false)})
	}
}

// connectionEnded describes how a connection ended: a close code of the
// protocol is a ProtocolError.
func connectionEnded(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) && ce.Code >= 4000 && ce.Code <= 4999 {
		return &ProtocolError{Code: int(ce.Code), Reason: ce.Reason}
	}
	return fmt.Errorf("opsync client: connection lost: %w", err)
}
