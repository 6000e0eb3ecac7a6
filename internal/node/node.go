// Package node assembles one opsync node: the journal store on disk, the
// cluster member with its actors, and the HTTP / WebSocket edge.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/cluster"
	"github.com/opsync/opsync/internal/consistency"
	"github.com/opsync/opsync/internal/edge"
	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/internal/persistence/raftjournal"
	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/webhook"
)

// The cluster member is the push service's router.
var _ push.Router = (*cluster.Member)(nil)

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
	// AdvertiseAddr is the cluster address other members dial when it
	// differs from RemoteAddr. The node's id in the set is this address
	// (or RemoteAddr): it must stay the same across restarts.
	AdvertiseAddr string
	// Membership says how the members of a node set find each other;
	// zero: a standalone node.
	Membership cluster.Membership
	// Raft, when Raft.Addr is set, replicates the journal; a node set
	// (Membership given) requires it.
	Raft   RaftConfig
	Logger *slog.Logger
	// SnapshotEvery, PassivateAfter: see actors.Deps.
	SnapshotEvery  int
	PassivateAfter time.Duration
	// RetryInterval: see actors.Deps.
	RetryInterval time.Duration
	// SweepInterval is how often every stream of the node is woken to
	// delete its expired entries (default 1 h; negative: never).
	SweepInterval time.Duration
	// DeleteGrace: see actors.Deps.
	DeleteGrace time.Duration
	// DocumentSessionTTL: see actors.Deps.
	DocumentSessionTTL time.Duration
	// WebhookPrivate lets documents' webhooks reach private, loopback and
	// link-local addresses (serve --webhook-private; refused by default).
	WebhookPrivate bool
	// ClientWindow bounds the messages in flight per client connection,
	// ClientWindowBytes their bytes (0: the defaults of internal/actors).
	ClientWindow      int
	ClientWindowBytes int64
	// SendBudget bounds the bytes all client connections of the node hold
	// for their clients together (see edge.Options.SendBudget): 0 means
	// DefaultSendBudget, a negative value turns it off.
	SendBudget int64
	// OriginPatterns: browser origins allowed to open client WebSockets.
	OriginPatterns []string
	// AdminToken is the admin API's bearer token. When empty the node uses
	// the one kept in DataDir/admin-token, generated on first start.
	AdminToken string
	// TLSCertFile and TLSKeyFile, when both are set, make the node serve
	// HTTPS and WSS only.
	TLSCertFile string
	TLSKeyFile  string
	// Validator asks instances' user-consistency endpoints; default an
	// HTTP validator (2 s timeout) behind a 5-minute cache.
	Validator consistency.Validator
	// MaxConns caps the HTTP server's open connections (0: the open-file
	// limit less a reserve); MaxConnsPerAddr caps those of one remote
	// address (0: no cap). See internal/connlimit.
	MaxConns        int
	MaxConnsPerAddr int
	// StrictPushStatus: see edge.Options.
	StrictPushStatus bool
	// CardCallbackPrivate: see edge.Options.
	CardCallbackPrivate bool
	// DiskReserve is the free space, in bytes, of DataDir's file system
	// below which the node refuses new data (see persistence.SpaceGuard);
	// 0 means DefaultDiskReserve, a negative value turns the guard off.
	DiskReserve int64
	// MasterKeyFile holds the master key that seals instances' client
	// secrets (internal/keyring). A node set (Raft) requires one, the same
	// on every node; a standalone node without one uses DataDir/master-key,
	// generated on first start.
	MasterKeyFile string
}

// DefaultDiskReserve is the free space kept for acks, deletes, trims,
// snapshots and Pebble's own flushes and compactions once new data is
// refused: room for a few memtable flushes and compactions, and for the
// pushes admitted just before the line was crossed.
const DefaultDiskReserve = 256 << 20

// DefaultSendBudget is the node's default send budget: 512 connections
// with a full default window (1 MiB) each, far more than clients that
// read ever hold, and a bound a node with a few GiB of memory can afford
// when many clients stop reading at once.
const DefaultSendBudget = 512 << 20

// diskSampleEvery is how often the free space is read (it is also read
// after a failed write, and lowered by what is written in between).
const diskSampleEvery = time.Second

// Node is a running node.
type Node struct {
	store     *persistence.PebbleStore // the local journal, or the replica under raft
	raft      *raftjournal.Store       // nil for the local journal
	member    *cluster.Member
	edge      *edge.Server
	http      *http.Server
	listener  net.Listener
	served    chan error
	stop      chan struct{} // closed by Close: background work ends
	sweepDone chan struct{}

	adminToken     string
	adminTokenFile string
	tls            bool
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
	if err := openDataDir(cfg.DataDir, logger); err != nil {
		return nil, err
	}
	var tokenFile string
	if cfg.AdminToken == "" {
		token, path, err := LoadOrCreateAdminToken(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		cfg.AdminToken, tokenFile = token, path
	}
	var tlsConfig *tls.Config
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, errors.New("node: TLS needs both a certificate and a key")
	}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("node: TLS: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if cfg.Validator == nil {
		cfg.Validator = consistency.NewCached(&consistency.HTTP{})
	}
	id, err := nodeID(cfg)
	if err != nil {
		return nil, err
	}
	masterKey, err := loadMasterKey(cfg, logger)
	if err != nil {
		return nil, err
	}
	space := newSpaceGuard(cfg, logger)
	// OpenPebble refuses a data directory of a newer format (see
	// persistence.FormatVersion). It must come before anything else under
	// DataDir is opened, the raft journal included, for that check to
	// guard them. Pebble's errors (e.g. a flush that failed for want of
	// space, retried) go to the node's log, each kind at most every 10 s.
	store, err := persistence.OpenPebble(cfg.DataDir, persistence.PebbleOptions{Space: space,
		Logger: slog.New(newThrottle(logger.Handler(), 10*time.Second))})
	if err != nil {
		return nil, fmt.Errorf("node: open journal: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("node: listen %s: %w", cfg.HTTPAddr, err)
	}
	system := cluster.NewSystem(protoactorLogger(logger))
	var journal persistence.Store = store
	var replicated *raftjournal.Store
	if cfg.Raft.Addr != "" {
		replicated, err = openReplicated(cfg.Raft, cfg.DataDir, id, store, system, logger)
		if err != nil {
			ln.Close()
			store.Close()
			return nil, err
		}
		journal = replicated
	}
	deps := &actors.Deps{Store: metrics.InstrumentStore(journal), SnapshotEvery: cfg.SnapshotEvery, PassivateAfter: cfg.PassivateAfter, RetryInterval: cfg.RetryInterval,
		DeleteGrace: cfg.DeleteGrace, DocumentSessionTTL: cfg.DocumentSessionTTL, Logger: logger, Space: space, MasterKey: masterKey,
		Webhooks: webhook.NewSender(cfg.WebhookPrivate)}
	member, err := cluster.Start(cluster.Config{RemoteAddr: cfg.RemoteAddr, AdvertiseAddr: cfg.AdvertiseAddr, Membership: cfg.Membership,
		System: system, Logger: protoactorLogger(logger)}, deps)
	if err != nil {
		ln.Close()
		if replicated != nil {
			replicated.Close()
		}
		store.Close()
		return nil, err
	}
	n := &Node{store: store, raft: replicated, member: member, listener: ln, served: make(chan error, 1), stop: make(chan struct{}), sweepDone: make(chan struct{}),
		adminToken: cfg.AdminToken, adminTokenFile: tokenFile, tls: tlsConfig != nil}
	budget := cfg.SendBudget
	switch {
	case budget == 0:
		budget = DefaultSendBudget
	case budget < 0:
		budget = 0
	}
	eopts := edge.Options{Logger: logger, ClientWindow: cfg.ClientWindow, ClientWindowBytes: cfg.ClientWindowBytes, SendBudget: budget, OriginPatterns: cfg.OriginPatterns,
		AdminToken: cfg.AdminToken, Validator: cfg.Validator, StrictPushStatus: cfg.StrictPushStatus, Space: space,
		CardCallbackPrivate: cfg.CardCallbackPrivate}
	if replicated != nil {
		eopts.Cluster = raftAdmin{store: replicated, id: id}
	}
	// The push service: every push API's path to the streams, with the
	// node's instance cache, which the instances' change notices reach.
	eopts.Push = push.New(member, push.Options{Logger: logger, Space: space})
	member.OnInstanceChanged(eopts.Push.InstanceChanged)
	n.edge = edge.New(member, eopts)
	go space.Run(n.stop, diskSampleEvery)
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = time.Hour
	}
	if cfg.SweepInterval > 0 {
		go n.sweepLoop(cfg.SweepInterval, logger)
	} else {
		close(n.sweepDone)
	}
	go n.outboxWakeLoop(logger)
	n.http, ln = httpServer(ln, n.edge, tlsConfig, cfg.MaxConns, cfg.MaxConnsPerAddr, logger)
	go func() {
		if tlsConfig != nil {
			n.served <- n.http.ServeTLS(ln, "", "")
			return
		}
		n.served <- n.http.Serve(ln)
	}()
	return n, nil
}

// newSpaceGuard watches the free space of the data directory (see
// Config.DiskReserve), read once before anything is written, and makes
// the disk metrics read it.
func newSpaceGuard(cfg Config, logger *slog.Logger) *persistence.SpaceGuard {
	reserve := cfg.DiskReserve
	if reserve == 0 {
		reserve = DefaultDiskReserve
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		dir = cfg.DataDir
	}
	free := persistence.FreeSpace(dir)
	if free == nil && reserve > 0 {
		logger.Warn("disk space: the free space cannot be read on this system; nothing is refused before the disk is full", slog.String("dir", dir))
	}
	g := persistence.NewSpaceGuard(persistence.SpaceOptions{Dir: dir, Reserve: uint64(max(reserve, 0)), Free: free, Logger: logger})
	g.Sample()
	metrics.WatchDisk(g)
	return g
}

// nodeID is the node's name in its set: the cluster address other members
// dial. A node set needs it fixed (no port 0), since raft knows voters by
// it across restarts.
func nodeID(cfg Config) (string, error) {
	id := cfg.AdvertiseAddr
	if id == "" {
		id = cfg.RemoteAddr
	}
	if cfg.Membership.Clustered() && cfg.Raft.Addr == "" {
		return "", errors.New("node: a node set needs the replicated journal (--raft): with local journals an actor moving to another node would not find its oplog there")
	}
	if cfg.Raft.Addr == "" {
		return id, nil
	}
	host, port, err := net.SplitHostPort(id)
	if err != nil || host == "" || port == "0" || port == "" {
		return "", fmt.Errorf("node: the replicated journal needs a fixed cluster address (--remote or --advertise host:port, not port 0), got %q", id)
	}
	return id, nil
}

// protoactorLogger keeps protoactor's info chatter out of the node's log,
// and its repeats about an unreachable member down to one per 10 s.
func protoactorLogger(l *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{h: newThrottle(l.Handler(), 10*time.Second), min: slog.LevelWarn})
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

// HTTPURL is the base URL of the node's HTTP API (https:// with TLS).
func (n *Node) HTTPURL() string {
	if n.tls {
		return "https://" + n.HTTPAddr()
	}
	return "http://" + n.HTTPAddr()
}

// AdminToken is the admin API's bearer token.
func (n *Node) AdminToken() string { return n.adminToken }

// AdminTokenFile is the file the admin token was read from or generated
// into, "" when it was given.
func (n *Node) AdminTokenFile() string { return n.adminTokenFile }

// Served delivers how HTTP serving ended: http.ErrServerClosed after
// Close, another error if the listener failed.
func (n *Node) Served() <-chan error { return n.served }

// Close stops serving, disconnects clients, stops the actors and closes
// the journal store.
func (n *Node) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	close(n.stop)
	<-n.sweepDone
	n.edge.CloseClients()
	err := n.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = n.http.Close()
	}
	n.member.Stop()
	if n.raft != nil {
		if cerr := n.raft.Close(); err == nil {
			err = cerr
		}
	}
	if cerr := n.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// RejoinNeeded is closed when the node was cut off from its set and should
// restart to be taken back (see cluster.Member.RejoinNeeded).
func (n *Node) RejoinNeeded() <-chan struct{} { return n.member.RejoinNeeded() }
