package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/node"
)

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "opsync serve [--data DIR] [--http HOST:PORT] [cluster flags]", stdout, stderr)
	data := fs.String("data", node.DefaultDataDir, "data directory (created if missing)")
	httpAddr := fs.String("http", node.DefaultHTTPAddr, "HTTP / WebSocket listen address")
	remote := fs.String("remote", "127.0.0.1:0", "cluster member listen address (port 0: any free port)")
	window := fs.Int("client-window", actors.DefaultWindow, "messages in flight per client connection")
	windowBytes := sizeFlag(actors.DefaultWindowBytes)
	fs.Var(&windowBytes, "client-window-bytes", "bytes in flight per client connection (the messages' payloads and ids); a stream reads a client's backlog from the journal as acks free room")
	sendBudget := sizeFlag(node.DefaultSendBudget)
	fs.Var(&sendBudget, "send-budget", "bytes all client connections may hold for their clients together (delivered and not acknowledged); past it the connection holding the most is closed with 4431 first; 0: no budget")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	snapEvery := fs.Int("snapshot-every", 1000, "events between two snapshots of an actor, at least (a snapshot also waits for as many bytes of events as the last one weighed)")
	sweepInterval := fs.Duration("sweep-interval", time.Hour, "wake every stream this often to delete expired entries (negative: never)")
	retryInterval := fs.Duration("retry-interval", 20*time.Second, "redeliver a message not acknowledged within this time")
	deleteGrace := fs.Duration("delete-grace", actors.DefaultDeleteGrace, "keep a deleted bizType's entries (not delivered) this long before deleting them; re-creating it meanwhile restores them")
	docTTL := fs.Duration("document-session-ttl", actors.DefaultDocumentSessionTTL, "keep a collaborative document session's operations and snapshots this long after its last editor left")
	passivate := fs.Duration("passivate-after", 2*time.Minute, "stop an actor idle (and without clients) this long")
	adminToken := newSecretFlag(fs, "admin-token", "OPSYNC_ADMIN_TOKEN", "admin API bearer `token` (env OPSYNC_ADMIN_TOKEN; default: generated once into DATA/admin-token, mode 0600)")
	tlsCert := fs.String("tls-cert", "", "PEM certificate (chain) file: serve HTTPS / WSS (with --tls-key)")
	tlsKey := fs.String("tls-key", "", "PEM private key file of --tls-cert")
	maxConns := fs.Int("max-conns", 0, "cap on open HTTP / WebSocket connections (0: the open-file limit less a reserve of a quarter, at most 1024)")
	maxPerAddr := fs.Int("max-conns-per-ip", 0, "cap on open connections from one remote IP address (0: no cap; clients behind one NAT share an address)")
	webhookPrivate := fs.Bool("webhook-private", false, "let documents' webhook URLs name private, loopback and link-local addresses (refused by default: opsync POSTs to them)")
	cardCallbackPrivate := fs.Bool("card-callback-private", false, "let card callback URLs name private, loopback and link-local addresses (refused by default: opsync POSTs to them)")
	strictPush := fs.Bool("strict-push-status", false, "answer the push APIs' own refusals with their HTTP status (400, 401, 404, 405) instead of 200 with the code in msg, the source's way")
	diskReserve := sizeFlag(node.DefaultDiskReserve)
	fs.Var(&diskReserve, "disk-reserve", "free space of the data directory's file system below which new data is refused (pushes answer SYSTEM_ERROR, admin writes 507); below a quarter of it only deletes are written; 0: off")
	// A path, not a secret, but read as the credentials are: when used.
	masterKeyFile := newSecretFlag(fs, "master-key-file", "OPSYNC_MASTER_KEY_FILE", "`file` holding the master key that seals instances' client secrets: 32 random bytes in base64 or hex, e.g. from openssl rand -base64 32 (env OPSYNC_MASTER_KEY_FILE; required with --raft, the same on every node; default: generated once into DATA/master-key, mode 0600)")
	var origins multiFlag
	fs.Var(&origins, "allow-origin", "browser origin pattern allowed to open client WebSockets (repeatable)")
	cf := addClusterFlags(fs)
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, fs, "unexpected argument %q", fs.Arg(0))
	}
	if *window <= 0 || windowBytes <= 0 {
		return usageError(stderr, fs, "--client-window and --client-window-bytes must be positive")
	}
	if *maxConns < 0 || *maxPerAddr < 0 {
		return usageError(stderr, fs, "--max-conns and --max-conns-per-ip must not be negative")
	}
	if *deleteGrace <= 0 {
		return usageError(stderr, fs, "--delete-grace must be positive, got %v", *deleteGrace)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError(stderr, fs, "--log-level: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	membership, raftCfg, err := cf.parse()
	if err != nil {
		return usageError(stderr, fs, "%v", err)
	}

	n, err := node.Start(context.Background(), node.Config{
		AdvertiseAddr: *cf.advertise, Membership: membership, Raft: raftCfg,
		DataDir: *data, HTTPAddr: *httpAddr, RemoteAddr: *remote, Logger: logger,
		ClientWindow: *window, ClientWindowBytes: int64(windowBytes), SendBudget: reserveOf(sendBudget), OriginPatterns: origins, SnapshotEvery: *snapEvery, PassivateAfter: *passivate, RetryInterval: *retryInterval, SweepInterval: *sweepInterval,
		AdminToken: adminToken.get(), TLSCertFile: *tlsCert, TLSKeyFile: *tlsKey, StrictPushStatus: *strictPush, CardCallbackPrivate: *cardCallbackPrivate,
		MaxConns: *maxConns, MaxConnsPerAddr: *maxPerAddr, DiskReserve: reserveOf(diskReserve), DeleteGrace: *deleteGrace,
		DocumentSessionTTL: *docTTL, MasterKeyFile: masterKeyFile.get(), WebhookPrivate: *webhookPrivate,
	})
	if err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 1
	}
	abs, _ := filepath.Abs(*data)
	// One JSON line on stdout says where the node listens: scripts and
	// tests read it to find a port chosen with :0.
	// The admin token itself is never printed: adminTokenFile says where a
	// generated one is kept.
	line := map[string]string{"event": "listening", "http": n.HTTPAddr(), "url": n.HTTPURL(), "data": abs, "pid": fmt.Sprint(os.Getpid())}
	if f := n.AdminTokenFile(); f != "" {
		if a, err := filepath.Abs(f); err == nil {
			f = a
		}
		line["adminTokenFile"] = f
	}
	_ = json.NewEncoder(stdout).Encode(line)
	logger.Info("opsync node started", "http", n.HTTPURL(), "data", abs)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case s := <-sig:
		logger.Info("stopping", "signal", s.String())
	case err := <-n.Served():
		logger.Error("http server stopped", "err", err)
		closeBounded(n.Close, closeTimeout, logger, stderr)
		return 1
	case <-n.RejoinNeeded():
		logger.Warn("cut off from the node set and reachable again: restarting to rejoin under a new member id")
		if err := closeBounded(n.Close, closeTimeout, logger, stderr); err != nil {
			logger.Warn("close", "err", err)
		}
		return reexec(stderr)
	}
	if err := closeBounded(n.Close, closeTimeout, logger, stderr); err != nil {
		logger.Warn("close", "err", err)
		if errors.Is(err, errCloseTimeout) {
			return 1
		}
	}
	return 0
}

// reserveOf is node.Config.DiskReserve (or SendBudget) for the flag: 0
// turns the guard off (the node's 0 means its default).
func reserveOf(s sizeFlag) int64 {
	if s == 0 {
		return -1
	}
	return int64(s)
}

// reexec replaces this process with a fresh start of the same command
// line (same pid, same stdout), as a supervisor restart would.
func reexec(stderr io.Writer) int {
	self, err := os.Executable()
	if err == nil {
		err = syscall.Exec(self, os.Args, os.Environ())
	}
	fmt.Fprintf(stderr, "serve: restart to rejoin failed: %v\n", err)
	return 1
}
