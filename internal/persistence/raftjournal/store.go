package raftjournal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/raft"

	"github.com/opsync/opsync/internal/persistence"
)

// Store is a persistence.Store whose writes go through the raft group and
// whose reads come from the node's local replica. It is safe for
// concurrent use.
//
// Reads see every write this Store acknowledged (or refused with a seq
// conflict) and, after ReadBarrier, every write acknowledged anywhere
// before it. A Store just opened serves its replica as the restart left
// it, possibly without the newest entries: call ReadBarrier before relying
// on its reads (actors do, before recovering).
//
// Close shuts down the journal actor, raft, its transport and its log
// database; it does not close Config.Local (the caller closes it after
// Close) nor Config.System.
type Store struct {
	cfg    Config
	logger *slog.Logger
	raft   *raft.Raft
	fsm    *fsm
	trans  *raft.NetworkTransport
	rdb    *raftDB
	pid    *actor.PID

	// mark is the index this node's reads wait for (see watermark).
	mark watermark

	closed    atomic.Bool
	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ persistence.Store = (*Store)(nil)

// Open starts this node's raft member and journal actor. Raft state found
// in cfg.Dir is resumed; otherwise, with cfg.Bootstrap, a new group with
// those members is created. Open does not wait for a leader (WaitLeader
// does).
func Open(c Config) (_ *Store, err error) {
	cfg, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{cfg: cfg, logger: logger, closing: make(chan struct{})}
	var cleanup []func()
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()

	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("raftjournal: %w", err)
	}
	if s.fsm, err = newFSM(cfg.Local, logger); err != nil {
		return nil, err
	}
	if s.rdb, err = openRaftDB(filepath.Join(cfg.Dir, "log"), logger); err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() { _ = s.rdb.Close() })
	hlog := raftLogger(cfg.Logger)
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hlog) // in Dir/snapshots
	if err != nil {
		return nil, fmt.Errorf("raftjournal: snapshot store: %w", err)
	}
	if err := s.fsm.restoreIfBehind(snaps); err != nil {
		return nil, err
	}
	advertise, err := net.ResolveTCPAddr("tcp", cfg.RaftAddr)
	if err != nil {
		return nil, fmt.Errorf("raftjournal: raft address %q: %w", cfg.RaftAddr, err)
	}
	// MaxRPCsInFlight 1 turns off pipelined replication. hashicorp/raft's
	// pipeline deadlocks when a follower answers an AppendEntries with
	// Success=false (its log diverged: it was cut off, or restarted behind):
	// the decoder stops, the sender parks on a full channel, and the
	// leader never replicates to that follower again, while heartbeats
	// keep it from timing out; the stuck goroutine also hangs Shutdown.
	// The chaos soak hit both (a partitioned leader that never restarted to
	// rejoin); hashicorp/raft#612, and grafana/pyroscope#5518 did the
	// same. Synchronous AppendEntries cost little: raft batches entries.
	if s.trans, err = raft.NewTCPTransportWithConfig(cfg.RaftAddr, advertise, &raft.NetworkTransportConfig{
		MaxPool: 3, Timeout: 10 * time.Second, Logger: hlog, MaxRPCsInFlight: 1}); err != nil {
		return nil, fmt.Errorf("raftjournal: raft transport: %w", err)
	}
	cleanup = append(cleanup, func() { _ = s.trans.Close() })

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.Logger = hlog
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.CommitTimeout
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.TrailingLogs = cfg.TrailingLogs
	// The leader gathers concurrent proposals into one log append (and
	// the FSM then applies them in one commit).
	rc.BatchApplyCh = true
	// The replica is durable up to at least the latest snapshot (Snapshot
	// syncs it first, restoreIfBehind covers an install cut short), and
	// raft resumes applying right after that snapshot; the FSM skips what it
	// already holds. Restoring would rewrite the whole replica on every
	// start.
	rc.NoSnapshotRestoreOnStart = true

	logs, stable := LogStore{s.rdb}, StableStore{s.rdb}
	if len(cfg.Bootstrap) > 0 {
		var conf raft.Configuration
		for _, srv := range cfg.Bootstrap {
			conf.Servers = append(conf.Servers, raft.Server{
				Suffrage: raft.Voter, ID: raft.ServerID(srv.ID), Address: raft.ServerAddress(srv.Address)})
		}
		// ErrCantBootstrap means state exists already: resume it.
		if err := raft.BootstrapCluster(rc, logs, stable, snaps, s.trans, conf); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return nil, fmt.Errorf("raftjournal: bootstrap: %w", err)
		}
	}
	if s.raft, err = raft.NewRaft(rc, s.fsm, logs, stable, snaps, s.trans); err != nil {
		return nil, fmt.Errorf("raftjournal: start raft: %w", err)
	}
	cleanup = append(cleanup, func() { _ = s.raft.Shutdown().Error() })
	logLeaders(s.raft, logger, s.closing)

	props := actor.PropsFromFunc(s.receive)
	if s.pid, err = cfg.System.Root.SpawnNamed(props, JournalActorName); err != nil {
		return nil, fmt.Errorf("raftjournal: spawn %s: %w", JournalActorName, err)
	}
	return s, nil
}

// Close stops the journal actor and raft. Calls in progress end with an
// error (a write then has an unknown outcome); later calls return
// persistence.ErrClosed. Close may be called again.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.closing)
		_ = s.cfg.System.Root.StopFuture(s.pid).Wait()
		s.handOverLeadership()
		errs := []error{s.raft.Shutdown().Error(), s.trans.Close(), s.rdb.Close()}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// handOverLeadership asks raft to make another voter leader before a
// leader shuts down, so that a graceful stop (a rolling restart) costs the
// set one round of messages instead of an election timeout. It gives up
// after two election timeouts: shutting down must not wait on peers.
func (s *Store) handOverLeadership() {
	if s.raft.State() != raft.Leader {
		return
	}
	done := make(chan struct{})
	go func() {
		_ = s.raft.LeadershipTransfer().Error()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * s.cfg.ElectionTimeout):
	}
}

// enter rejects calls on a closed store and invalid actor ids.
func (s *Store) enter(ctx context.Context, actorID string) error {
	if s.closed.Load() {
		return persistence.ErrClosed
	}
	if err := persistence.CheckActorID(actorID); err != nil {
		return err
	}
	return ctx.Err()
}

// beforeRead admits a read of actorID once the replica is caught up.
func (s *Store) beforeRead(ctx context.Context, actorID string) error {
	if err := s.enter(ctx, actorID); err != nil {
		return err
	}
	return s.caughtUp(ctx)
}

// caughtUp waits until the replica has applied every write this node has
// seen acknowledged or passed a read barrier for.
func (s *Store) caughtUp(ctx context.Context) error {
	if err := s.fsm.applied.wait(ctx, s.mark.get()); err != nil {
		return fmt.Errorf("raftjournal: replica catching up: %w", err)
	}
	if s.closed.Load() {
		return persistence.ErrClosed
	}
	return nil
}

// Replay implements persistence.Journal from the local replica.
func (s *Store) Replay(ctx context.Context, actorID string, from, to uint64, max int, fn func(seq uint64, event []byte) error) (uint64, error) {
	if err := s.beforeRead(ctx, actorID); err != nil {
		return 0, err
	}
	return s.cfg.Local.Replay(ctx, actorID, from, to, max, fn)
}

// HighestSeq implements persistence.Journal from the local replica.
func (s *Store) HighestSeq(ctx context.Context, actorID string) (uint64, error) {
	if err := s.beforeRead(ctx, actorID); err != nil {
		return 0, err
	}
	return s.cfg.Local.HighestSeq(ctx, actorID)
}

// LoadSnapshot implements persistence.SnapshotStore from the local replica.
func (s *Store) LoadSnapshot(ctx context.Context, actorID string, maxSeq uint64) (uint64, []byte, bool, error) {
	if err := s.beforeRead(ctx, actorID); err != nil {
		return 0, nil, false, err
	}
	return s.cfg.Local.LoadSnapshot(ctx, actorID, maxSeq)
}

// Append implements persistence.Journal: it returns once a majority holds
// the batch in its raft log and the leader's replica accepted it.
func (s *Store) Append(ctx context.Context, actorID string, first uint64, events [][]byte) error {
	if err := s.enter(ctx, actorID); err != nil {
		return err
	}
	if len(events) == 0 {
		return fmt.Errorf("persistence: append to %q: no events", actorID)
	}
	return s.write(ctx, actorID, appendCmd(actorID, first, events))
}

// DeleteRange implements persistence.Journal.
func (s *Store) DeleteRange(ctx context.Context, actorID string, from, to uint64) error {
	if err := s.enter(ctx, actorID); err != nil {
		return err
	}
	return s.write(ctx, actorID, deleteRangeCmd(actorID, from, to))
}

// DeleteRanges implements persistence.Journal: one raft entry.
func (s *Store) DeleteRanges(ctx context.Context, actorID string, ranges []persistence.SeqRange) error {
	if err := s.enter(ctx, actorID); err != nil {
		return err
	}
	if len(ranges) == 0 {
		return nil
	}
	return s.write(ctx, actorID, deleteRangesCmd(actorID, ranges))
}

// SaveSnapshot implements persistence.SnapshotStore.
func (s *Store) SaveSnapshot(ctx context.Context, actorID string, seq uint64, data []byte) error {
	if err := s.enter(ctx, actorID); err != nil {
		return err
	}
	return s.write(ctx, actorID, saveSnapshotCmd(actorID, seq, data))
}

// DeleteSnapshots implements persistence.SnapshotStore.
func (s *Store) DeleteSnapshots(ctx context.Context, actorID string, from, to uint64) error {
	if err := s.enter(ctx, actorID); err != nil {
		return err
	}
	return s.write(ctx, actorID, deleteSnapshotsCmd(actorID, from, to))
}

// ReadBarrier implements persistence.Store: it asks the leader for its
// applied index after a raft barrier (every entry committed before the call
// is then applied there) and waits until this replica has applied as much.
func (s *Store) ReadBarrier(ctx context.Context) error {
	if s.closed.Load() {
		return persistence.ErrClosed
	}
	index, err := s.do(ctx, barrierRequest())
	if err != nil {
		return err
	}
	s.mark.raise(index)
	return s.caughtUp(ctx)
}
