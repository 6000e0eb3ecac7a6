package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/internal/edge"
	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/internal/persistence/raftjournal"
)

// RaftConfig turns on the replicated journal: every push is committed on
// a majority of the set's raft voters before it is answered.
type RaftConfig struct {
	// Addr is where this node's raft transport listens (host:port), and
	// what the other voters dial.
	Addr string
	// Bootstrap lists the voters of a new set. It is used only when the
	// node has no raft state yet; giving every initial node the same list
	// is safe. A node started without it waits to be added as a voter.
	Bootstrap []raftjournal.Server
	// ElectionTimeout is raft's heartbeat and election timeout (default
	// DefaultElectionTimeout): a lost leader is replaced after about
	// this long.
	ElectionTimeout time.Duration
}

// DefaultElectionTimeout is a set's raft heartbeat and election timeout.
// A hashicorp/raft follower checks its last contact with the leader on a
// timer of 1 to 2 timeouts, so after the leader dies a survivor turns
// candidate within 3 timeouts; it may be refused by the other survivor
// (which still follows the dead leader), that one in turn for a shorter
// log, and the first tries again within 2 more. So a new leader may take
// 5 timeouts, all writes waiting. Measured over 20 kills of a 3-voter
// set's leader under push load (docs/benchmarks.md, failover): at 1 s
// writes resumed after up to 4.0 s, at 500 ms up to 3.2 s on a loaded
// machine, at 300 ms elections ended within 1.3 s. Heartbeats go every
// tenth of it; a network slower than a LAN wants it longer.
const DefaultElectionTimeout = 300 * time.Millisecond

// openReplicated opens the raft journal of id over the node's local
// replica, on system (whose remote the cluster member starts).
func openReplicated(cfg RaftConfig, dataDir, id string, local *persistence.PebbleStore, system *actor.ActorSystem, logger *slog.Logger) (*raftjournal.Store, error) {
	dir := filepath.Join(dataDir, "raft")
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		// A replica must hold only what raft put there: journals a
		// standalone node wrote would exist on this node alone.
		errLocal := errors.New("local journals")
		err := local.ActorIDs(func(string) error { return errLocal })
		if errors.Is(err, errLocal) {
			return nil, fmt.Errorf("node: %s holds a standalone node's journals; a set member starts on an empty data directory", dataDir)
		}
		if err != nil {
			return nil, err
		}
	}
	rcfg := raftjournal.Config{
		ID: id, RaftAddr: cfg.Addr, Dir: dir,
		Local: local, System: system, Bootstrap: cfg.Bootstrap,
		// A peer that is down makes raft log every heartbeat retry.
		Logger: slog.New(newThrottle(logger.Handler(), 10*time.Second)),
	}
	t := cfg.ElectionTimeout
	if t <= 0 {
		t = DefaultElectionTimeout
	}
	rcfg.HeartbeatTimeout, rcfg.ElectionTimeout, rcfg.LeaderLeaseTimeout = t, t, t/2
	s, err := raftjournal.Open(rcfg)
	if err != nil {
		return nil, fmt.Errorf("node: replicated journal: %w", err)
	}
	return s, nil
}

// raftAdmin adapts the raft journal to the edge's cluster endpoints.
type raftAdmin struct {
	store *raftjournal.Store
	id    string
}

func (a raftAdmin) Status(ctx context.Context) (edge.ClusterStatus, error) {
	st, err := a.store.Status(ctx)
	if err != nil {
		return edge.ClusterStatus{}, err
	}
	out := edge.ClusterStatus{Journal: "raft", Node: a.id, State: st.State, Leader: st.LeaderID,
		CommitIndex: st.CommitIndex, AppliedIndex: st.AppliedIndex, LastIndex: st.LastIndex, ReplicaIndex: st.ReplicaIndex}
	for _, s := range st.Servers {
		out.Servers = append(out.Servers, edge.RaftServer{ID: s.ID, Address: s.Address, Suffrage: s.Suffrage})
	}
	return out, nil
}

func (a raftAdmin) AddVoter(ctx context.Context, id, addr string) error {
	return a.store.AddVoter(ctx, id, addr)
}

func (a raftAdmin) RemoveServer(ctx context.Context, id string) error {
	return a.store.RemoveServer(ctx, id)
}
