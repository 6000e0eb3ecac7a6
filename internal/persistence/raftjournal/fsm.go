package raftjournal

import (
	"encoding/binary"
	"fmt"
	"log/slog"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// metaApplied names the replica's metadata value holding the last raft
// index applied to it (uint64 BE), written in the same commit as the
// entries it covers.
const metaApplied = "raftjournal.applied"

// fsm applies committed journal commands to the node's local replica.
type fsm struct {
	local   *persistence.PebbleStore
	applied *appliedIndex
	logger  *slog.Logger
}

var _ raft.BatchingFSM = (*fsm)(nil)

func newFSM(local *persistence.PebbleStore, logger *slog.Logger) (*fsm, error) {
	applied, err := storedApplied(local)
	if err != nil {
		return nil, err
	}
	return &fsm{local: local, applied: newAppliedIndex(applied), logger: logger}, nil
}

func storedApplied(local *persistence.PebbleStore) (uint64, error) {
	v, found, err := local.Meta(metaApplied)
	if err != nil || !found {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("raftjournal: corrupt applied index (%d bytes)", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// Apply implements raft.FSM (raft calls ApplyBatch instead).
func (f *fsm) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies a batch of committed entries in one Pebble commit
// without fsync, together with the index of the last one: the raft log is
// the durable copy, and after a crash raft hands the entries above its last
// snapshot over again. Entries at or below the stored index were applied
// before and are skipped, so re-application never duplicates an append or
// turns it into a conflict.
//
// Each command entry's response is nil or the error its proposer gets (a
// *persistence.SeqConflictError for an append that does not follow the
// replica's highest seq, counting earlier appends of the same batch).
// Configuration entries only move the applied index.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	resp := make([]any, len(logs))
	applied := f.applied.get()
	last := logs[len(logs)-1].Index
	if last <= applied {
		return resp
	}
	b, err := f.local.NewApplyBatch()
	if err != nil {
		// The replica was closed under a running raft: the caller closed
		// things in the wrong order. Nothing is applied and the stored index
		// stays, so a restart applies these entries again.
		f.logger.Error("raftjournal: cannot apply committed entries", "first", logs[0].Index, "last", last, "error", err)
		for i := range resp {
			resp[i] = err
		}
		return resp
	}
	defer b.Close()
	for i, l := range logs {
		if l.Index <= applied || l.Type != raft.LogCommand {
			continue
		}
		var cmd opsyncpb.JournalCommand
		if err := proto.Unmarshal(l.Data, &cmd); err != nil {
			resp[i] = fmt.Errorf("raftjournal: entry %d: %w", l.Index, err)
			continue
		}
		if err := applyCommand(b, &cmd); err != nil {
			resp[i] = err
		}
	}
	if err := b.SetMeta(metaApplied, binary.BigEndian.AppendUint64(nil, last)); err != nil {
		panic(fmt.Sprintf("raftjournal: apply entries up to %d: %v", last, err))
	}
	if err := b.Commit(false); err != nil {
		// Going on would leave this replica without these entries while
		// raft counts them applied: later entries would apply on a wrong
		// state. Stop here; a restart re-applies from the stored index.
		panic(fmt.Sprintf("raftjournal: apply entries up to %d: %v", last, err))
	}
	f.applied.set(last)
	return resp
}
