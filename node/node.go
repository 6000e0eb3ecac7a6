// Package node assembles one opsync node: the journal store on disk, the
// cluster member with its actors, and the HTTP / WebSocket edge.
package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/opsync/opsync/actors"
	"github.com/opsync/opsync/cluster"
	"github.com/opsync/opsync/edge"
	"github.com/opsync/opsync/metrics"
	"github.com/opsync/opsync/persistence"
)

// Defaults of the embedded single node.
const (
	DefaultDataDir  = "./opsync-data"
	DefaultHTTPAddr = "127.0.0.1:8470"
)

// Config configures a node.
type Config struct {
	DataDir    string
	HTTPAddr   string // host:port; port 0 picks a free one
	RemoteAddr string // cluster member address; default 127.0.0.1:0
	Logger     *slog.Logger
	// SnapshotEvery, PassivateAfter: see actors.Deps.
	SnapshotEvery  int
	PassivateAfter time.Duration
	// RetryInterval: see actors.Deps.
	RetryInterval time.Duration
	// ClientWindow bounds the messages in flight per client connection.
	ClientWindow int
	// OriginPatterns: browser origins allowed to open client WebSockets.
	OriginPatterns []string
}

// Node is a running node.
type Node struct {
	store    *persistence.PebbleStore
	member   *cluster.Member
	edge     *edge.Server
	http     *http.Server
	listener net.Listener
	served   chan error
}

// Start opens the data directory, joins the cluster and serves HTTP.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = DefaultHTTPAddr
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("node: data dir: %w", err)
	}
	store, err := persistence.OpenPebble(cfg.DataDir, persistence.PebbleOptions{})
	if err != nil {
		return nil, fmt.Errorf("node: open journal: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("node: listen %s: %w", cfg.HTTPAddr, err)
	}
	deps := &actors.Deps{Store: metrics.InstrumentStore(store), SnapshotEvery: cfg.SnapshotEvery, PassivateAfter: cfg.PassivateAfter, RetryInterval: cfg.RetryInterval, Logger: logger}
	member, err := cluster.Start(cluster.Config{RemoteAddr: cfg.RemoteAddr, Logger: protoactorLogger(logger)}, deps)
	if err != nil {
		ln.Close()
		store.Close()
		return nil, err
	}
	n := &Node{store: store, member: member, listener: ln, served: make(chan error, 1)}
	n.edge = edge.New(member, edge.Options{Logger: logger, ClientWindow: cfg.ClientWindow, OriginPatterns: cfg.OriginPatterns})
	n.http = &http.Server{Handler: n.edge, ReadHeaderTimeout: 10 * time.Second}
	go func() { n.served <- n.http.Serve(ln) }()
	return n, nil
}

// protoactorLogger keeps protoactor's info chatter out of the node's log.
func protoactorLogger(l *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{h: l.Handler(), min: slog.LevelWarn})
}

type levelFilter struct {
	h   slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.h.Enabled(ctx, l)
}
func (f levelFilter) Handle(ctx context.Context, r slog.Record) error { return f.h.Handle(ctx, r) }
func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{h: f.h.WithAttrs(a), min: f.min}
}
func (f levelFilter) WithGroup(g string) slog.Handler {
	return levelFilter{h: f.h.WithGroup(g), min: f.min}
}

// HTTPAddr is the address the node serves HTTP on.
func (n *Node) HTTPAddr() string { return n.listener.Addr().String() }

// HTTPURL is the base URL of the node's HTTP API.
func (n *Node) HTTPURL() string { return "http://" + n.HTTPAddr() }

// Served delivers how HTTP serving ended: http.ErrServerClosed after
// Close, another error if the listener failed.
func (n *Node) Served() <-chan error { return n.served }

// Close stops serving, disconnects clients, stops the actors and closes
// the journal store.
func (n *Node) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n.edge.CloseClients()
	err := n.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = n.http.Close()
	}
	n.member.Stop()
	if cerr := n.store.Close(); err == nil {
		err = cerr
	}
	return err
}
