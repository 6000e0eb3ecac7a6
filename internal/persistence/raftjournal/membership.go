package raftjournal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// AddVoter adds the node id (its protoactor address) with raft address
// raftAddr as a voting member, or updates its address. It is forwarded to
// the leader like a write; the new member catches up from the log or by a
// snapshot install.
func (s *Store) AddVoter(ctx context.Context, id, raftAddr string) error {
	if s.closed.Load() {
		return persistence.ErrClosed
	}
	index, err := s.do(ctx, &opsyncpb.JournalRequest{Op: &opsyncpb.JournalRequest_AddVoter{
		AddVoter: &opsyncpb.JournalAddVoter{Id: id, Address: raftAddr}}})
	if err != nil {
		return err
	}
	return s.awaitLocal(ctx, index)
}

// RemoveServer removes the node id from the group. Removing the leader
// makes it step down once the change is committed.
func (s *Store) RemoveServer(ctx context.Context, id string) error {
	if s.closed.Load() {
		return persistence.ErrClosed
	}
	index, err := s.do(ctx, &opsyncpb.JournalRequest{Op: &opsyncpb.JournalRequest_RemoveServer{
		RemoveServer: &opsyncpb.JournalRemoveServer{Id: id}}})
	if err != nil || id == s.cfg.ID {
		// A node that removed itself hears of no later entry.
		return err
	}
	return s.awaitLocal(ctx, index)
}

// awaitLocal waits until this node's replica has applied index, so that
// a membership change made through a follower shows in that follower's
// Status when the call returns (configuration entries reach the FSM too).
func (s *Store) awaitLocal(ctx context.Context, index uint64) error {
	if err := s.fsm.applied.wait(ctx, index); err != nil {
		if s.closed.Load() {
			return persistence.ErrClosed
		}
		return fmt.Errorf("raftjournal: change committed at index %d, not yet applied here: %w", index, err)
	}
	return nil
}

// Status is this node's view of the raft group.
type Status struct {
	State        string // "Leader", "Follower", "Candidate" or "Shutdown"
	LeaderID     string // empty when no leader is known
	LeaderAddr   string
	Servers      []ServerStatus
	CommitIndex  uint64 // highest index this node knows committed
	AppliedIndex uint64 // highest index applied to this node's replica
	// ReplicaIndex is the highest index whose batch this node's replica
	// has written. AppliedIndex can be ahead of it: raft counts a batch
	// applied once handed to the FSM, before the FSM has written it (and
	// moves over no-ops the FSM never sees). To know that a replica holds
	// everything another one holds, compare their ReplicaIndex.
	ReplicaIndex uint64
	LastIndex    uint64 // highest index in this node's raft log
}

// ServerStatus is one member as the latest configuration has it.
type ServerStatus struct {
	ID       string
	Address  string // raft address
	Suffrage string // "Voter", "Nonvoter" or "Staging"
}

// Status returns this node's view of the group.
func (s *Store) Status(ctx context.Context) (Status, error) {
	if s.closed.Load() {
		return Status{}, persistence.ErrClosed
	}
	st := Status{
		State:       s.raft.State().String(),
		CommitIndex: s.raft.CommitIndex(),
		// raft's own applied index also moves over entries the FSM never
		// sees (a new leader's no-op), so that it reaches CommitIndex.
		AppliedIndex: max(s.raft.AppliedIndex(), s.fsm.applied.get()),
		LastIndex:    s.raft.LastIndex(),
		ReplicaIndex: s.fsm.applied.get(),
	}
	addr, id := s.raft.LeaderWithID()
	st.LeaderID, st.LeaderAddr = string(id), string(addr)
	f := s.raft.GetConfiguration()
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		if err != nil {
			return st, fmt.Errorf("raftjournal: configuration: %w", err)
		}
	case <-ctx.Done():
		return st, ctx.Err()
	}
	for _, srv := range f.Configuration().Servers {
		st.Servers = append(st.Servers, ServerStatus{ID: string(srv.ID), Address: string(srv.Address), Suffrage: srv.Suffrage.String()})
	}
	return st, nil
}

// WaitLeader waits until this node knows a leader and returns its id.
func (s *Store) WaitLeader(ctx context.Context) (string, error) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if s.closed.Load() {
			return "", persistence.ErrClosed
		}
		if _, id := s.raft.LeaderWithID(); id != "" {
			return string(id), nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return "", errors.Join(ErrNoLeader, ctx.Err())
		}
	}
}

// IsLeader reports whether this node is the raft leader right now.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }
