package raftjournal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// ErrNoLeader is returned when no leader became known within the apply
// timeout (a minority partition, an election that does not end). Nothing
// was proposed.
var ErrNoLeader = errors.New("raftjournal: no raft leader")

// ErrUnknownOutcome wraps every error after which a write may or may not
// have been committed (it reached raft or the leader, then the answer was
// lost: a timeout, lost leadership, an unreachable leader). Such a write is
// never retried here: a second proposal could apply it twice or turn into
// a confusing seq conflict. The caller (an actor) should recover from the
// journal, where the write is either wholly present or absent.
var ErrUnknownOutcome = errors.New("raftjournal: outcome unknown")

// retryBackoff is the pause before asking again when a request was
// certainly not proposed (no leader yet, or a node that is no longer
// leader answered).
const retryBackoff = 20 * time.Millisecond

func barrierRequest() *opsyncpb.JournalRequest {
	return &opsyncpb.JournalRequest{Op: &opsyncpb.JournalRequest_Barrier{Barrier: &opsyncpb.JournalBarrier{}}}
}

// write proposes cmd and raises the read watermark to its index, so that
// this node's reads see it.
func (s *Store) write(ctx context.Context, actorID string, cmd *opsyncpb.JournalCommand) error {
	req := &opsyncpb.JournalRequest{Op: &opsyncpb.JournalRequest_Command{Command: cmd}}
	index, err := s.do(ctx, req)
	var conflict *persistence.SeqConflictError
	if errors.As(err, &conflict) {
		conflict.ActorID = actorID
		// The refusal was decided at index: reading after it shows the
		// highest seq it was refused against, so a writer that re-reads
		// HighestSeq and tries again does not spin on a lagging replica.
		s.mark.raise(index)
	}
	if err == nil {
		s.mark.raise(index)
	}
	return err
}

// do runs req on the leader (here or through its journal actor), retrying
// while the request certainly was not proposed, within ctx and
// ApplyTimeout. It returns the index the leader reports.
func (s *Store) do(ctx context.Context, req *opsyncpb.JournalRequest) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	var lastErr error
	for {
		if s.closed.Load() {
			return 0, persistence.ErrClosed
		}
		if err := ctx.Err(); err != nil {
			if lastErr != nil {
				return 0, fmt.Errorf("%w (last attempt: %v)", ErrNoLeader, lastErr)
			}
			return 0, err
		}
		index, err := s.once(ctx, req)
		var nl *notLeaderError
		if !errors.As(err, &nl) && !barrierRetry(req, err) {
			return index, err
		}
		lastErr = err
		t := time.NewTimer(retryBackoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		case <-s.closing:
			t.Stop()
		}
	}
}

// barrierRetry reports whether a failed attempt at req may simply be made
// again although raft may have seen it: a barrier writes nothing, so one
// that lost its leader (a leader that died while a follower forwarded it
// there, one that stepped down) is asked of the next leader instead of
// failing the recovery of the actor that waits for it.
func barrierRetry(req *opsyncpb.JournalRequest, err error) bool {
	_, barrier := req.Op.(*opsyncpb.JournalRequest_Barrier)
	return barrier && errors.Is(err, ErrUnknownOutcome) && !errors.Is(err, persistence.ErrClosed)
}

// once makes one attempt. A *notLeaderError means nothing was proposed.
func (s *Store) once(ctx context.Context, req *opsyncpb.JournalRequest) (uint64, error) {
	if s.raft.State() == raft.Leader {
		return s.onLeader(ctx, req)
	}
	_, leaderID := s.raft.LeaderWithID()
	switch leaderID {
	case "":
		return 0, &notLeaderError{}
	case raft.ServerID(s.cfg.ID):
		// Raft still names us while we stepped down: ask raft, which
		// refuses with ErrNotLeader before enqueueing anything.
		return s.onLeader(ctx, req)
	}
	return s.forward(ctx, string(leaderID), req)
}

// forward sends req to the journal actor of the node leaderID and waits for
// its reply.
func (s *Store) forward(ctx context.Context, leaderID string, req *opsyncpb.JournalRequest) (uint64, error) {
	timeout := s.cfg.ApplyTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return 0, ctx.Err()
	}
	pid := actor.NewPID(leaderID, JournalActorName)
	f := s.cfg.System.Root.RequestFuture(pid, req, timeout)
	type result struct {
		res any
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := f.Result()
		done <- result{res, err}
	}()
	// A leader that crashed never answers: rather than wait out the whole
	// timeout, give up once raft here names another leader. The outcome is
	// unknown either way (the old leader may have committed the write).
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var res any
	var err error
wait:
	for {
		select {
		case r := <-done:
			res, err = r.res, r.err
			break wait
		case <-tick.C:
			if _, now := s.raft.LeaderWithID(); now != "" && string(now) != leaderID {
				return 0, fmt.Errorf("%w: leader changed from %s to %s while waiting for its answer", ErrUnknownOutcome, leaderID, now)
			}
		case <-ctx.Done():
			return 0, fmt.Errorf("%w: forwarding to leader %s: %v", ErrUnknownOutcome, leaderID, ctx.Err())
		}
	}
	switch {
	case errors.Is(err, actor.ErrDeadLetter):
		// Not connected to that node, or it has no journal actor (yet):
		// the request never reached a live journal actor.
		return 0, &notLeaderError{}
	case err != nil:
		return 0, fmt.Errorf("%w: forwarding to leader %s: %v", ErrUnknownOutcome, leaderID, err)
	}
	reply, ok := res.(*opsyncpb.JournalReply)
	if !ok {
		return 0, fmt.Errorf("%w: leader %s answered %T", ErrUnknownOutcome, leaderID, res)
	}
	return reply.Index, replyErr(reply, "")
}

// onLeader runs req on this node's raft, which must be the leader (raft
// refuses otherwise, with nothing proposed).
func (s *Store) onLeader(ctx context.Context, req *opsyncpb.JournalRequest) (uint64, error) {
	timeout := s.cfg.ApplyTimeout
	switch op := req.Op.(type) {
	case *opsyncpb.JournalRequest_Command:
		if grows(op.Command) {
			// A leader whose disk is below the floor would fail in Pebble
			// (fatally) writing its raft log: refuse before proposing.
			if err := s.cfg.Local.AdmitWrite(); err != nil {
				return 0, err
			}
		}
		data, err := proto.Marshal(op.Command)
		if err != nil {
			return 0, fmt.Errorf("raftjournal: encode command: %w", err)
		}
		f := s.raft.Apply(data, timeout)
		if err := s.await(ctx, f); err != nil {
			return 0, err
		}
		if err, ok := f.Response().(error); ok {
			return f.Index(), err
		}
		return f.Index(), nil
	case *opsyncpb.JournalRequest_Barrier:
		if err := s.await(ctx, s.raft.Barrier(timeout)); err != nil {
			return 0, err
		}
		// Every entry before the barrier is applied here now.
		return s.fsm.applied.get(), nil
	case *opsyncpb.JournalRequest_AddVoter:
		f := s.raft.AddVoter(raft.ServerID(op.AddVoter.Id), raft.ServerAddress(op.AddVoter.Address), 0, timeout)
		if err := s.await(ctx, f); err != nil {
			return 0, err
		}
		return f.Index(), nil
	case *opsyncpb.JournalRequest_RemoveServer:
		f := s.raft.RemoveServer(raft.ServerID(op.RemoveServer.Id), 0, timeout)
		if err := s.await(ctx, f); err != nil {
			return 0, err
		}
		return f.Index(), nil
	default:
		return 0, fmt.Errorf("raftjournal: unknown journal request %T", req.Op)
	}
}

// await waits for a raft future within ctx and sorts its error: refusals
// raft gives before enqueueing become *notLeaderError (safe to retry),
// everything else after the proposal is ErrUnknownOutcome.
func (s *Store) await(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		return fmt.Errorf("%w: %v", ErrUnknownOutcome, ctx.Err())
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress),
		errors.Is(err, raft.ErrEnqueueTimeout):
		_, leader := s.raft.LeaderWithID()
		return &notLeaderError{leaderID: string(leader)}
	case errors.Is(err, raft.ErrRaftShutdown) && s.closed.Load():
		return fmt.Errorf("%w: %w", ErrUnknownOutcome, persistence.ErrClosed)
	default:
		return fmt.Errorf("%w: %v", ErrUnknownOutcome, err)
	}
}
