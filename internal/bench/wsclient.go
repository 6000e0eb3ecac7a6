package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// subprotocol is the client protocol's WebSocket subprotocol.
const subprotocol = "opsync.v1"

// dialer opens client connections, spreading their source addresses over
// 127.0.0.1 … 127.0.0.N so that many connections do not run out of
// ephemeral ports (each source address has its own port range). With the
// nodes of a set, connection i goes to node i mod nodes (connectAt).
type dialer struct {
	ws      []string
	clients []*http.Client
	next    atomic.Uint64
}

// newDialer returns a dialer for the node at base using sources source
// addresses (1: the default source address, no explicit bind).
func newDialer(base string, sources int) (*dialer, error) {
	return newSetDialer([]string{base}, sources)
}

// newSetDialer is newDialer for the nodes at bases.
func newSetDialer(bases []string, sources int) (*dialer, error) {
	return newWSDialer(bases, "/webapi/sync/ws", sources)
}

// newWSDialer is a dialer of the WebSocket endpoint path of the servers at
// bases (http://host:port).
func newWSDialer(bases []string, path string, sources int) (*dialer, error) {
	d := &dialer{}
	for _, base := range bases {
		u, err := url.Parse(base)
		if err != nil {
			return nil, err
		}
		u.Scheme = "ws"
		u.Path = strings.TrimRight(u.Path, "/") + path
		d.ws = append(d.ws, u.String())
	}
	if len(d.ws) == 0 {
		return nil, errors.New("bench: no node to dial")
	}
	for i := 0; i < max(sources, 1); i++ {
		nd := &net.Dialer{Timeout: 10 * time.Second}
		if sources > 1 {
			nd.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%254))}
		}
		d.clients = append(d.clients, &http.Client{Transport: &http.Transport{DialContext: nd.DialContext, DisableKeepAlives: true}})
	}
	return d, nil
}

// sourcesFor is how many source addresses n connections need: one per
// half of the ephemeral port range, leaving the rest to other traffic and
// to sockets in TIME_WAIT.
func sourcesFor(n int) int {
	lo, hi := 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if l, err := strconv.Atoi(f[0]); err == nil {
				lo = l
			}
			if h, err := strconv.Atoi(f[1]); err == nil {
				hi = h
			}
		}
	}
	per := max((hi-lo+1)/2, 1)
	return min((n+per-1)/per, 254)
}

// wsConn is one client connection speaking the wire protocol.
type wsConn struct {
	ws *websocket.Conn
}

// connect dials the (first) node, sends Connect and waits for Connected.
func (d *dialer) connect(ctx context.Context, c *opsyncpb.Connect) (*wsConn, error) {
	return d.connectAt(ctx, 0, c)
}

// connectAt is connect to node i mod the dialer's nodes.
func (d *dialer) connectAt(ctx context.Context, i int, c *opsyncpb.Connect) (*wsConn, error) {
	ws, _, err := websocket.Dial(ctx, d.ws[i%len(d.ws)], &websocket.DialOptions{HTTPClient: d.client(), Subprotocols: []string{subprotocol}})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(16 << 20)
	cn := &wsConn{ws: ws}
	if err := cn.send(ctx, &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Connect{Connect: c}}); err != nil {
		ws.CloseNow()
		return nil, err
	}
	f, err := cn.next(ctx)
	if err != nil {
		ws.CloseNow()
		return nil, err
	}
	if e := f.GetError(); e != nil {
		ws.CloseNow()
		return nil, fmt.Errorf("bench: connect refused: %d %s", e.Code, e.Reason)
	}
	if f.GetConnected() == nil {
		ws.CloseNow()
		return nil, errors.New("bench: the server's first frame is not Connected")
	}
	return cn, nil
}

// client is the HTTP client of the next connection (the source addresses
// in turn).
func (d *dialer) client() *http.Client { return d.clients[d.next.Add(1)%uint64(len(d.clients))] }

// connectFrame is the Connect of a client registering bizTypes at their
// sync points.
func connectFrame(instance, user, device string, points map[string]uint64) *opsyncpb.Connect {
	c := &opsyncpb.Connect{InstanceId: instance, UserId: user, DeviceId: device}
	for biz, p := range points {
		c.BizTypes = append(c.BizTypes, &opsyncpb.SyncPoint{BizType: biz, OplogId: p})
	}
	return c
}

func (c *wsConn) send(ctx context.Context, f *opsyncpb.ClientFrame) error {
	b, err := proto.Marshal(f)
	if err != nil {
		return err
	}
	return c.ws.Write(ctx, websocket.MessageBinary, b)
}

// next reads the next server frame.
func (c *wsConn) next(ctx context.Context) (*opsyncpb.ServerFrame, error) {
	typ, b, err := c.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageBinary {
		return nil, errors.New("bench: text frame from the server")
	}
	f := &opsyncpb.ServerFrame{}
	if err := proto.Unmarshal(b, f); err != nil {
		return nil, err
	}
	return f, nil
}

// ack acknowledges delivered messages, in one frame.
func (c *wsConn) ack(ctx context.Context, msgs []*opsyncpb.SyncMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	a := &opsyncpb.Ack{Received: make([]*opsyncpb.SyncPoint, len(msgs))}
	for i, m := range msgs {
		a.Received[i] = &opsyncpb.SyncPoint{BizType: m.BizType, OplogId: m.OplogId}
	}
	return c.send(ctx, &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Ack{Ack: a}})
}

// ping sends a Ping (the server closes connections silent for 75 s).
func (c *wsConn) ping(ctx context.Context, nonce uint64) error {
	return c.send(ctx, &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Ping{Ping: &opsyncpb.Ping{Nonce: nonce}}})
}

func (c *wsConn) close() { c.ws.CloseNow() }

// closeNormal ends the connection with a close handshake.
func (c *wsConn) closeNormal() { _ = c.ws.Close(websocket.StatusNormalClosure, "bench done") }
