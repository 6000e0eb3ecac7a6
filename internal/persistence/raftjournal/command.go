package raftjournal

import (
	"errors"
	"fmt"
	"strings"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Constructors of the commands a write proposes.

func appendCmd(actorID string, first uint64, events [][]byte) *opsyncpb.JournalCommand {
	return &opsyncpb.JournalCommand{Op: &opsyncpb.JournalCommand_Append{Append: &opsyncpb.JournalAppend{
		ActorId: []byte(actorID), First: first, Events: events}}}
}

func deleteRangeCmd(actorID string, from, to uint64) *opsyncpb.JournalCommand {
	return &opsyncpb.JournalCommand{Op: &opsyncpb.JournalCommand_DeleteRange{DeleteRange: &opsyncpb.JournalDeleteRange{
		ActorId: []byte(actorID), From: from, To: to}}}
}

func deleteRangesCmd(actorID string, ranges []persistence.SeqRange) *opsyncpb.JournalCommand {
	d := &opsyncpb.JournalDeleteRanges{ActorId: []byte(actorID), Ranges: make([]*opsyncpb.JournalSeqRange, len(ranges))}
	for i, r := range ranges {
		d.Ranges[i] = &opsyncpb.JournalSeqRange{From: r.From, To: r.To}
	}
	return &opsyncpb.JournalCommand{Op: &opsyncpb.JournalCommand_DeleteRanges{DeleteRanges: d}}
}

func saveSnapshotCmd(actorID string, seq uint64, data []byte) *opsyncpb.JournalCommand {
	return &opsyncpb.JournalCommand{Op: &opsyncpb.JournalCommand_SaveSnapshot{SaveSnapshot: &opsyncpb.JournalSaveSnapshot{
		ActorId: []byte(actorID), Seq: seq, Data: data}}}
}

func deleteSnapshotsCmd(actorID string, from, to uint64) *opsyncpb.JournalCommand {
	return &opsyncpb.JournalCommand{Op: &opsyncpb.JournalCommand_DeleteSnapshots{DeleteSnapshots: &opsyncpb.JournalDeleteSnapshots{
		ActorId: []byte(actorID), From: from, To: to}}}
}

// grows reports whether cmd adds data (an append, a snapshot) rather than
// deleting it: only those are refused on a disk below its floor.
func grows(cmd *opsyncpb.JournalCommand) bool {
	switch cmd.Op.(type) {
	case *opsyncpb.JournalCommand_Append, *opsyncpb.JournalCommand_SaveSnapshot:
		return true
	}
	return false
}

// applyCommand adds cmd to the replica batch. Its error is the entry's
// outcome for the proposer (a seq conflict, an invalid id); the batch is
// left without the entry's writes then.
func applyCommand(b *persistence.ApplyBatch, cmd *opsyncpb.JournalCommand) error {
	switch op := cmd.Op.(type) {
	case *opsyncpb.JournalCommand_Append:
		a := op.Append
		return b.Append(string(a.ActorId), a.First, a.Events)
	case *opsyncpb.JournalCommand_DeleteRange:
		d := op.DeleteRange
		return b.DeleteRange(string(d.ActorId), d.From, d.To)
	case *opsyncpb.JournalCommand_DeleteRanges:
		d := op.DeleteRanges
		ranges := make([]persistence.SeqRange, len(d.Ranges))
		for i, r := range d.Ranges {
			ranges[i] = persistence.SeqRange{From: r.From, To: r.To}
		}
		return b.DeleteRanges(string(d.ActorId), ranges)
	case *opsyncpb.JournalCommand_SaveSnapshot:
		s := op.SaveSnapshot
		return b.SaveSnapshot(string(s.ActorId), s.Seq, s.Data)
	case *opsyncpb.JournalCommand_DeleteSnapshots:
		d := op.DeleteSnapshots
		return b.DeleteSnapshots(string(d.ActorId), d.From, d.To)
	default:
		// A newer node's command this binary does not know. Skipping it
		// would let replicas diverge silently; the proposer sees the error,
		// and replicas running this version stay consistent with each other.
		return fmt.Errorf("raftjournal: unknown journal command %T", cmd.Op)
	}
}

// okReply, errorReply: the replies of the journal actor.

func okReply(index uint64) *opsyncpb.JournalReply {
	return &opsyncpb.JournalReply{Code: opsyncpb.JournalReply_OK, Index: index}
}

// replyFor turns the outcome of a request handled on the leader into a
// reply.
func replyFor(index uint64, err error) *opsyncpb.JournalReply {
	if err == nil {
		return okReply(index)
	}
	var conflict *persistence.SeqConflictError
	var nl *notLeaderError
	switch {
	case errors.As(err, &conflict):
		return &opsyncpb.JournalReply{Code: opsyncpb.JournalReply_SEQ_CONFLICT, Index: index,
			Expected: conflict.Expected, Got: conflict.Got}
	case errors.As(err, &nl):
		return &opsyncpb.JournalReply{Code: opsyncpb.JournalReply_NOT_LEADER, LeaderId: nl.leaderID}
	default:
		return &opsyncpb.JournalReply{Code: opsyncpb.JournalReply_ERROR, Message: strings.ToValidUTF8(err.Error(), "\uFFFD"),
			InvalidActorId: errors.Is(err, persistence.ErrInvalidActorID),
			OutcomeUnknown: errors.Is(err, ErrUnknownOutcome)}
	}
}

// replyErr maps a reply back to the error the leader-side call returned.
// actorID fills in the conflict, which the reply does not carry.
func replyErr(r *opsyncpb.JournalReply, actorID string) error {
	switch r.Code {
	case opsyncpb.JournalReply_OK:
		return nil
	case opsyncpb.JournalReply_SEQ_CONFLICT:
		return &persistence.SeqConflictError{ActorID: actorID, Expected: r.Expected, Got: r.Got}
	case opsyncpb.JournalReply_NOT_LEADER:
		return &notLeaderError{leaderID: r.LeaderId}
	default:
		if r.InvalidActorId {
			return fmt.Errorf("%w (leader: %s)", persistence.ErrInvalidActorID, r.Message)
		}
		if r.OutcomeUnknown {
			return fmt.Errorf("%w (leader: %s)", ErrUnknownOutcome, r.Message)
		}
		return fmt.Errorf("raftjournal: leader: %s", r.Message)
	}
}

// notLeaderError says a request reached a node that is not the leader and
// was not proposed: it is safe to send again.
type notLeaderError struct{ leaderID string }

func (e *notLeaderError) Error() string {
	if e.leaderID == "" {
		return "raftjournal: not the leader, no leader known"
	}
	return "raftjournal: not the leader; leader is " + e.leaderID
}
