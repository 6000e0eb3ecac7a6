// Package connlimit bounds the TCP connections a node's HTTP server
// holds: in total and per remote address. Without it, idle keep-alive
// connections (or a client that opens many) use up the process's file
// descriptors and lock every other client out.
//
// At the total cap the oldest connection idle between two requests is
// closed to make room (it costs its client a reconnect, not an error); only
// when none is idle is the new connection refused. A connection over the
// per-address cap is always refused. A refused plain-HTTP connection gets
// a 503 answer saying why before it is closed.
package connlimit

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Options configure a Listener.
type Options struct {
	// Max bounds the open connections (required, > 0).
	Max int
	// MaxPerAddr bounds the open connections of one remote IP address (0:
	// no bound; clients behind one NAT share an address).
	MaxPerAddr int
	// Refusal is written to a refused connection before it is closed (nil:
	// closed without a word, as TLS connections must be).
	Refusal func(reason string) []byte
	// Observe, when set, is told of every change: the open count, and
	// each refusal or idle close by its reason.
	Observe Observer
}

// Observer receives a Listener's events (metrics).
type Observer interface {
	Open(n int)
	Refused(reason string)
	IdleClosed()
}

// Reasons of a refusal.
const (
	ReasonTotal   = "total"
	ReasonPerAddr = "per_address"
)

// refusalWriteTimeout bounds the write of a refusal to a client that
// does not read.
const refusalWriteTimeout = time.Second

// Listener is a net.Listener that keeps to Options. Its ConnState must be
// the http.Server's ConnState, so that it knows the idle connections.
type Listener struct {
	net.Listener
	opts Options

	mu      sync.Mutex
	open    int
	perAddr map[string]int
	idle    map[net.Conn]time.Time // since when, by the server's conn
}

// New wraps inner.
func New(inner net.Listener, opts Options) *Listener {
	if opts.Max <= 0 {
		panic("connlimit: Options.Max must be positive")
	}
	return &Listener{Listener: inner, opts: opts, perAddr: map[string]int{}, idle: map[net.Conn]time.Time{}}
}

// Accept returns the next connection within the caps.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if admitted := l.admit(c); admitted != nil {
			return admitted, nil
		}
	}
}

// admit counts c in, or refuses it (nil).
func (l *Listener) admit(c net.Conn) net.Conn {
	addr := remoteIP(c)
	l.mu.Lock()
	if l.opts.MaxPerAddr > 0 && l.perAddr[addr] >= l.opts.MaxPerAddr {
		l.mu.Unlock()
		l.refuse(c, ReasonPerAddr)
		return nil
	}
	var victim net.Conn
	if l.open >= l.opts.Max {
		victim = l.oldestIdleLocked()
		if victim == nil {
			l.mu.Unlock()
			l.refuse(c, ReasonTotal)
			return nil
		}
		delete(l.idle, victim)
	}
	l.open++
	l.perAddr[addr]++
	open := l.open
	l.mu.Unlock()
	// The victim's close (outside the lock: it comes back through
	// release) brings the count back within Max.
	if victim != nil {
		victim.Close()
		if l.opts.Observe != nil {
			l.opts.Observe.IdleClosed()
		}
	}
	if l.opts.Observe != nil {
		l.opts.Observe.Open(open)
	}
	return &conn{Conn: c, l: l, addr: addr}
}

func (l *Listener) oldestIdleLocked() net.Conn {
	var oldest net.Conn
	var since time.Time
	for c, t := range l.idle {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	return oldest
}

func (l *Listener) refuse(c net.Conn, reason string) {
	if l.opts.Observe != nil {
		l.opts.Observe.Refused(reason)
	}
	if l.opts.Refusal != nil {
		_ = c.SetWriteDeadline(time.Now().Add(refusalWriteTimeout))
		_, _ = c.Write(l.opts.Refusal(reason))
	}
	_ = c.Close()
}

func (l *Listener) release(addr string) {
	l.mu.Lock()
	l.open--
	if l.perAddr[addr]--; l.perAddr[addr] <= 0 {
		delete(l.perAddr, addr)
	}
	open := l.open
	l.mu.Unlock()
	if l.opts.Observe != nil {
		l.opts.Observe.Open(open)
	}
}

// ConnState is the http.Server's ConnState hook: it keeps the set of
// connections idle between requests (the ones that may be closed to
// make room). c is the server's conn (for TLS, the *tls.Conn over ours).
func (l *Listener) ConnState(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s == http.StateIdle {
		l.idle[c] = time.Now()
		return
	}
	delete(l.idle, c)
}

// Open is the number of open connections.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

func remoteIP(c net.Conn) string {
	a := c.RemoteAddr()
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// conn gives its slot back once, on its first Close.
type conn struct {
	net.Conn
	l    *Listener
	addr string
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.addr) })
	return err
}

// DefaultMax is the connection cap for a process allowed nofile open
// descriptors: what is left after a reserve for the journal's files, the
// cluster's connections and the process's own (a quarter, at most 1024).
func DefaultMax(nofile uint64) int {
	reserve := nofile / 4
	if reserve > 1024 {
		reserve = 1024
	}
	n := nofile - reserve
	if n < 1 {
		n = 1
	}
	if n > 1<<30 {
		n = 1 << 30
	}
	return int(n)
}
