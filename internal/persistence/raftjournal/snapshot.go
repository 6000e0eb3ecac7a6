package raftjournal

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/hashicorp/raft"

	"github.com/opsync/opsync/internal/persistence"
)

// A raft snapshot of the journal is snapshotMagic, uvarint(applied index of
// the replica), then a persistence checkpoint of every journal key. Raft's
// file snapshot store adds its own CRC.
var snapshotMagic = []byte("opsync-raftjournal-1\n")

// Snapshot implements raft.FSM. It first syncs the replica: with
// Config.NoSnapshotRestoreOnStart raft resumes after its latest snapshot
// without restoring it, so the replica must hold at least that much on disk.
// Then it takes a point-in-time view, which Persist streams while applies go
// on (raft calls Snapshot between applies, so the view is exactly the
// applied index).
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	applied := f.applied.get()
	if err := f.local.SetMetaSync(metaApplied, binary.BigEndian.AppendUint64(nil, applied)); err != nil {
		return nil, fmt.Errorf("raftjournal: snapshot: sync replica: %w", err)
	}
	cp, err := f.local.NewCheckpoint()
	if err != nil {
		return nil, fmt.Errorf("raftjournal: snapshot: %w", err)
	}
	return &fsmSnapshot{cp: cp, applied: applied}, nil
}

type fsmSnapshot struct {
	cp      *persistence.Checkpoint
	applied uint64
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	hdr := binary.AppendUvarint(append([]byte(nil), snapshotMagic...), s.applied)
	if _, err := sink.Write(hdr); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("raftjournal: persist snapshot: %w", err)
	}
	if _, err := s.cp.WriteTo(sink); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("raftjournal: persist snapshot: %w", err)
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() { s.cp.Close() }

// Restore implements raft.FSM: a follower too far behind installs the
// leader's snapshot. Every journal key is replaced and the applied index
// set, in one synced commit.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	br := bufio.NewReader(rc)
	applied, err := readSnapshotHeader(br)
	if err != nil {
		return err
	}
	return f.importSnapshot(br, applied)
}

// importSnapshot installs the checkpoint that follows a snapshot header.
func (f *fsm) importSnapshot(br *bufio.Reader, applied uint64) error {
	if err := f.local.ImportCheckpoint(br, map[string][]byte{
		metaApplied: binary.BigEndian.AppendUint64(nil, applied),
	}); err != nil {
		return fmt.Errorf("raftjournal: restore snapshot: %w", err)
	}
	f.applied.reset(applied)
	return nil
}

func readSnapshotHeader(r *bufio.Reader) (applied uint64, err error) {
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(r, magic); err != nil {
		return 0, fmt.Errorf("raftjournal: snapshot header: %w", err)
	}
	if string(magic) != string(snapshotMagic) {
		return 0, fmt.Errorf("raftjournal: not a journal snapshot (starts %q)", magic)
	}
	applied, err = binary.ReadUvarint(r)
	if err != nil {
		return 0, fmt.Errorf("raftjournal: snapshot header: %w", err)
	}
	return applied, nil
}

// restoreIfBehind covers the one case NoSnapshotRestoreOnStart leaves open:
// raft saved a snapshot received from the leader but the node stopped before
// the replica had installed it. Raft would resume after that snapshot
// without restoring it, and its log below it is gone. So before raft
// starts, a replica whose applied index is below the newest snapshot's
// installs that snapshot itself.
func (f *fsm) restoreIfBehind(snaps raft.SnapshotStore) error {
	list, err := snaps.List()
	if err != nil || len(list) == 0 {
		return err
	}
	_, rc, err := snaps.Open(list[0].ID)
	if err != nil {
		return fmt.Errorf("raftjournal: open snapshot %s: %w", list[0].ID, err)
	}
	br := bufio.NewReader(rc)
	snapApplied, err := readSnapshotHeader(br)
	if err != nil {
		rc.Close()
		return err
	}
	if f.applied.get() >= snapApplied {
		return rc.Close()
	}
	f.logger.Warn("raftjournal: replica behind the latest raft snapshot, installing it",
		"replica", f.applied.get(), "snapshot", snapApplied)
	defer rc.Close()
	return f.importSnapshot(br, snapApplied)
}
