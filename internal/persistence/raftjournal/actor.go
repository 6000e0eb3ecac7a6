package raftjournal

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/raft"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// receive is the "opsync-journal" actor: the leader's entry point for
// requests forwarded by followers. Each request waits for raft in a
// goroutine of its own, so the mailbox never blocks and concurrent
// forwarded writes reach raft together (where they share a log append).
func (s *Store) receive(c actor.Context) {
	req, ok := c.Message().(*opsyncpb.JournalRequest)
	if !ok {
		return
	}
	sender := c.Sender() // the current message is gone once Receive returns
	if sender == nil {
		return
	}
	go func() {
		s.cfg.System.Root.Send(sender, s.serve(req))
	}()
}

// serve answers a forwarded request. A node that is not the leader says so
// (with its hint) instead of forwarding again, so requests never bounce.
func (s *Store) serve(req *opsyncpb.JournalRequest) *opsyncpb.JournalReply {
	if s.closed.Load() || s.raft.State() != raft.Leader {
		_, leader := s.raft.LeaderWithID()
		if s.closed.Load() {
			leader = ""
		}
		return &opsyncpb.JournalReply{Code: opsyncpb.JournalReply_NOT_LEADER, LeaderId: string(leader)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ApplyTimeout)
	defer cancel()
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	return replyFor(s.onLeader(ctx, req))
}
