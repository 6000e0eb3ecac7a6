package edge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Limits of the client protocol.
const (
	// Subprotocol is the WebSocket subprotocol of the client protocol.
	Subprotocol     = "opsync.v1"
	maxFrameBytes   = 64 << 10
	connectTimeout  = 10 * time.Second
	idleTimeout     = 75 * time.Second // clients ping every 20 s
	maxIDLen        = 100
	maxSessionLen   = 512
	maxBizPerClient = 256
	maxAcksPerFrame = 4096
)

// frameError is a protocol error: the connection closes with code.
type frameError struct {
	code   int
	reason string
}

func (e *frameError) Error() string { return e.reason }

func protocolErr(code int, format string, args ...any) *frameError {
	return &frameError{code: code, reason: fmt.Sprintf(format, args...)}
}

func (s *Server) handleClient(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:   []string{Subprotocol},
		OriginPatterns: s.opts.OriginPatterns,
	})
	if err != nil {
		return // Accept has answered the HTTP request
	}
	ws.SetReadLimit(maxFrameBytes)
	conn := newClientConn(ws)
	s.track(conn, true)
	frames := newFrameReader(ws, connectTimeout)
	sess, err := s.openSession(r, conn, frames)
	if err != nil {
		closeWithErr(conn, err)
		frames.stop()
		s.track(conn, false)
		return
	}
	// The session reads its frames on a goroutine of its own, and this
	// handler returns (the connection is hijacked: net/http is done with
	// it). This goroutine's stack grew through the upgrade, the
	// authorization and the attach, and an idle connection would keep it
	// (16 KiB) while it waits for its next frame; a new goroutine holds
	// what reading frames takes.
	go sess.serve()
}

// clientSession is one connected client after its Connect: the frames it
// reads, the actor it attached and what its frames may use.
type clientSession struct {
	s       *Server
	conn    *clientConn
	frames  *frameReader
	client  *actors.Client
	share   *budgetShare
	limits  *connLimits
	cards   *cardDynamic
	docs    *documentEditor
	records *docRecords
	// ctx lives as long as the session (the request's ends with the
	// handler).
	ctx    context.Context
	cancel context.CancelFunc
}

// openSession reads the Connect, authorizes it and attaches the client
// actor; an error closes the connection.
func (s *Server) openSession(r *http.Request, conn *clientConn, frames *frameReader) (*clientSession, error) {
	connect, err := readConnect(frames)
	if err != nil {
		return nil, err
	}
	grant, err := s.authorizeClient(r.Context(), connect)
	if err != nil {
		return nil, err
	}
	params := actors.ClientParams{
		InstanceID: connect.InstanceId, UserID: connect.UserId, DeviceID: connect.DeviceId, SessionID: connect.SessionId,
		OSType: connect.OsType, AppVersion: connect.AppVersion, BizTypes: map[string]uint64{},
		ConsistencyChecked: grant.checked, SessionValid: grant.valid, DeviceStreamWithheld: grant.deviceStreamWithheld,
		Sink: conn, Window: s.opts.ClientWindow, WindowBytes: s.opts.ClientWindowBytes, Logger: s.opts.Logger,
		// The client actor writes it once its streams list the client, so
		// that a client online by Connected is online for a push too.
		Connected: &opsyncpb.Connected{DeviceId: connect.DeviceId, UserId: connect.UserId, WithheldBizTypes: grant.withheld},
	}
	sess := &clientSession{s: s, conn: conn, frames: frames, share: s.budget.join(conn.shed)}
	params.Meter = sess.share
	for _, b := range connect.BizTypes {
		params.BizTypes[b.BizType] = b.OplogId
	}
	sess.client = s.member.Attach(params)
	metrics.ConnectedClients.Inc()
	// The client's frames (acks, registrations, pings) follow Connected;
	// the actor bounds the wait.
	<-sess.client.Ready()

	frames.timeout = idleTimeout
	sess.limits = newConnLimits(connect)
	sess.cards = s.cardDynamicOf(connect, conn)
	dc := s.docConnOf(connect, grant, conn)
	sess.docs, sess.records = &documentEditor{dc}, newDocRecords(dc)
	sess.ctx, sess.cancel = context.WithCancel(context.WithoutCancel(r.Context()))
	return sess, nil
}

// serve handles the client's frames until the connection ends.
func (c *clientSession) serve() {
	defer c.end()
	for {
		f, err := c.frames.next()
		if err == nil {
			err = c.limits.admit(f, time.Now())
		}
		if err != nil {
			closeWithErr(c.conn, err)
			return
		}
		switch m := f.Frame.(type) {
		case *opsyncpb.ClientFrame_Ping:
			if c.conn.Send(&opsyncpb.ServerFrame{Frame: &opsyncpb.ServerFrame_Pong{Pong: &opsyncpb.Pong{Nonce: m.Ping.Nonce}}}) != nil {
				return
			}
		case *opsyncpb.ClientFrame_Connect:
			closeWithErr(c.conn, protocolErr(CloseProtocolError, "connect sent twice"))
			return
		default:
			if handled, err := c.docs.frame(c.ctx, f); handled {
				if err != nil {
					return
				}
				continue
			}
			if handled, err := c.records.frame(c.ctx, f); handled {
				if err != nil {
					return
				}
				continue
			}
			c.client.Handle(f) // checked by frames.next, admitted by limits
			c.cards.frame(f)
		}
	}
}

// end lets go of what the session holds, the last first.
func (c *clientSession) end() {
	c.cancel()
	c.cards.stop()
	metrics.ConnectedClients.Dec()
	c.client.Stop()
	c.share.leave()
	c.frames.stop()
	c.s.track(c.conn, false)
}

func (s *Server) track(c *clientConn, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
}

// closeWithErr ends the connection: protocol errors with their code, a
// vanished peer or a server shutdown without further ado.
func closeWithErr(conn *clientConn, err error) {
	var fe *frameError
	if errors.As(err, &fe) {
		conn.Close(fe.code, fe.reason)
		return
	}
	conn.Close(closeGoingAway, "connection ended")
}

func readConnect(frames *frameReader) (*opsyncpb.Connect, error) {
	f, err := frames.next()
	if err != nil {
		return nil, err
	}
	c := f.GetConnect()
	if c == nil {
		return nil, protocolErr(CloseProtocolError, "the first frame must be connect")
	}
	return c, checkConnect(c)
}

// frameReader reads a connection's frames, each within timeout of the one
// before (the first, Connect, within connectTimeout of the upgrade). One timer per connection, reset per frame, keeps the time limit:
// a deadline context per read would cost allocations and a timer each,
// on the path every ack takes.
type frameReader struct {
	ws       *websocket.Conn
	timeout  time.Duration
	timer    *time.Timer
	timedOut atomic.Bool
}

func newFrameReader(ws *websocket.Conn, timeout time.Duration) *frameReader {
	r := &frameReader{ws: ws, timeout: timeout}
	r.timer = time.AfterFunc(timeout, func() {
		r.timedOut.Store(true)
		ws.CloseNow()
	})
	r.timer.Stop() // next arms it for each read
	return r
}

// next reads the next frame, within timeout (the limit runs only while it
// reads, as a deadline on the read would).
func (r *frameReader) next() (*opsyncpb.ClientFrame, error) {
	r.timer.Reset(r.timeout)
	typ, b, err := r.ws.Read(context.Background())
	r.timer.Stop()
	if err != nil {
		if r.timedOut.Load() {
			return nil, protocolErr(CloseTimeout, "no frame within %s", r.timeout)
		}
		return nil, err
	}
	if typ != websocket.MessageBinary {
		return nil, protocolErr(CloseBadFrame, "frames must be binary protobuf messages")
	}
	return DecodeClientFrame(b)
}

func (r *frameReader) stop() { r.timer.Stop() }

// DecodeClientFrame decodes one client frame; any error is a protocol
// error carrying its close code.
func DecodeClientFrame(b []byte) (*opsyncpb.ClientFrame, error) {
	f := &opsyncpb.ClientFrame{}
	if err := proto.Unmarshal(b, f); err != nil {
		return nil, protocolErr(CloseBadFrame, "undecodable frame: %v", err)
	}
	if f.Frame == nil {
		return nil, protocolErr(CloseBadFrame, "empty frame")
	}
	if c := f.GetConnect(); c != nil {
		return f, checkConnect(c)
	}
	return f, checkFrame(f)
}

func checkConnect(c *opsyncpb.Connect) error {
	switch {
	case !ValidInstanceID(c.InstanceId):
		return protocolErr(CloseBadFrame, "connect: invalid instanceId")
	case c.UserId != "" && !validID(c.UserId):
		return protocolErr(CloseBadFrame, "connect: userId must be at most %d characters (UTF-16 code units) of UTF-8 (none: a device-only connection)", maxIDLen)
	case !validID(c.DeviceId):
		return protocolErr(CloseBadFrame, "connect: deviceId must be 1-%d characters (UTF-16 code units) of UTF-8", maxIDLen)
	case len(c.SessionId) > maxSessionLen, len(c.OsType) > 10, len(c.AppVersion) > 20, len(c.Token) > auth.MaxTokenLen:
		return protocolErr(CloseBadFrame, "connect: sessionId, osType, appVersion or token too long")
	case len(c.BizTypes) > maxBizPerClient:
		return protocolErr(CloseBadFrame, "connect: more than %d bizTypes", maxBizPerClient)
	}
	for _, b := range c.BizTypes {
		if !actors.ValidBizType(b.BizType) {
			return protocolErr(CloseBadFrame, "connect: invalid bizType %q: want %s", b.BizType, actors.BizTypeRule)
		}
	}
	return nil
}

func checkFrame(f *opsyncpb.ClientFrame) error {
	switch m := f.Frame.(type) {
	case *opsyncpb.ClientFrame_RegisterBiz:
		if !actors.ValidBizType(m.RegisterBiz.BizType) {
			return protocolErr(CloseBadFrame, "register: invalid bizType %q: want %s", m.RegisterBiz.BizType, actors.BizTypeRule)
		}
	case *opsyncpb.ClientFrame_UnregisterBiz:
		if !actors.ValidBizType(m.UnregisterBiz.BizType) {
			return protocolErr(CloseBadFrame, "unregister: invalid bizType %q: want %s", m.UnregisterBiz.BizType, actors.BizTypeRule)
		}
	case *opsyncpb.ClientFrame_Ack:
		if len(m.Ack.Received) > maxAcksPerFrame {
			return protocolErr(CloseBadFrame, "ack: more than %d entries", maxAcksPerFrame)
		}
	case *opsyncpb.ClientFrame_Open:
		return checkSource("open", m.Open.Kind, m.Open.Id)
	case *opsyncpb.ClientFrame_Close:
		return checkSource("close", m.Close.Kind, m.Close.Id)
	case *opsyncpb.ClientFrame_DocumentOps, *opsyncpb.ClientFrame_DocumentSnapshot:
		return checkDocumentFrame(f)
	case *opsyncpb.ClientFrame_DocumentData:
		return checkDocumentData(m.DocumentData)
	}
	return nil
}

// checkSource checks the state source an Open or Close names.
func checkSource(what, kind, id string) error {
	k, ok := actors.LookupStateKind(kind)
	if !ok {
		return protocolErr(CloseBadFrame, "%s: unknown kind %q", what, kind)
	}
	if !k.ValidID(id) {
		return protocolErr(CloseBadFrame, "%s: invalid %s id %q", what, kind, id)
	}
	return nil
}
