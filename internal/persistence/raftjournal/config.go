package raftjournal

import (
	"errors"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/internal/persistence"
)

// Server is one member of the raft group.
type Server struct {
	// ID is the node's protoactor remote address (host:port, as
	// ActorSystem.Address() reports it): a follower reaches the leader's
	// journal actor there.
	ID string
	// Address is the host:port of the node's raft transport.
	Address string
}

// Config configures Open. ID, RaftAddr, Dir, Local and System are required;
// zero durations and counts take the defaults below.
type Config struct {
	// ID is this node's raft server id: its protoactor address, equal to
	// System.Address().
	ID string
	// RaftAddr is where the raft transport listens and what it advertises
	// to peers (host:port, a concrete address).
	RaftAddr string
	// Dir holds raft's log (Dir/log) and snapshots (Dir/snapshots).
	Dir string
	// Local is the node's replica. The Store writes it only from raft's
	// state machine; the caller opens it before Open and closes it after
	// Store.Close.
	Local *persistence.PebbleStore
	// System is the node's actor system, with remote already started by the
	// caller; Open spawns the "opsync-journal" actor on it.
	System *actor.ActorSystem
	// Bootstrap is the initial member list, used only when Dir holds no raft
	// state yet. Every initial node may pass the same list.
	Bootstrap []Server
	// Logger receives raft's warnings and errors; nil discards them.
	Logger *slog.Logger

	// ApplyTimeout bounds a write or read barrier, retries included
	// (default 10 s).
	ApplyTimeout time.Duration

	// Raft timing and log compaction (defaults: raft's own production
	// values except CommitTimeout, 5 ms, which bounds how long a commit
	// waits to reach followers when no other entry comes along).
	HeartbeatTimeout   time.Duration // default 1 s
	ElectionTimeout    time.Duration // default 1 s
	LeaderLeaseTimeout time.Duration // default 500 ms
	CommitTimeout      time.Duration // default 5 ms
	SnapshotInterval   time.Duration // how often to check SnapshotThreshold; default 120 s
	SnapshotThreshold  uint64        // entries since the last snapshot that trigger one; default 8192
	TrailingLogs       uint64        // entries kept after a snapshot for slow followers; default 10240
}

// JournalActorName is the name of the actor through which followers reach
// the leader.
const JournalActorName = "opsync-journal"

func (c *Config) withDefaults() (Config, error) {
	out := *c
	switch {
	case out.ID == "":
		return out, errors.New("raftjournal: Config.ID is empty")
	case out.RaftAddr == "":
		return out, errors.New("raftjournal: Config.RaftAddr is empty")
	case out.Dir == "":
		return out, errors.New("raftjournal: Config.Dir is empty")
	case out.Local == nil:
		return out, errors.New("raftjournal: Config.Local is nil")
	case out.System == nil:
		return out, errors.New("raftjournal: Config.System is nil")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&out.ApplyTimeout, 10*time.Second)
	def(&out.HeartbeatTimeout, time.Second)
	def(&out.ElectionTimeout, time.Second)
	def(&out.LeaderLeaseTimeout, 500*time.Millisecond)
	def(&out.CommitTimeout, 5*time.Millisecond)
	def(&out.SnapshotInterval, 120*time.Second)
	if out.SnapshotThreshold == 0 {
		out.SnapshotThreshold = 8192
	}
	if out.TrailingLogs == 0 {
		out.TrailingLogs = 10240
	}
	return out, nil
}
