package state

import (
	"fmt"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// DocSession is the state of a collaborative document's session: its
// version (one per accepted operation), the latest snapshot an editor sent
// and the operations after it, which is what a late joiner needs. The
// journal holds DocOpsAccepted and DocSnapshotSaved events; the session's
// data is temporary (the actor removes the journal when its time to live
// has passed after the last editor left).
type DocSession struct {
	lastSeq   uint64
	version   uint64
	snapshot  *opsyncpb.DocSnapshot
	ops       []*opsyncpb.DocOp // after snapshot, in version order
	opsBytes  int
	updatedAt int64
	// unhooked are the webhook events journaled that the outbox is not
	// known to have, ascending seq (docsession_sealed.go).
	unhooked []*opsyncpb.DocHookQueued
	// open opens events journaled sealed with the environment's data key
	// (nil: none can be applied).
	open func([]byte) ([]byte, error)
	// held: a webhook event was journaled since the session was cleared.
	held bool
	// users are the users announced connected and not yet disconnected.
	users map[string]bool
}

// NewDocSession returns the state of a session that has no events.
func NewDocSession() *DocSession { return &DocSession{} }

// LastSeq is the sequence number of the last applied event.
func (d *DocSession) LastSeq() uint64 { return d.lastSeq }

// Version is the version of the last accepted operation (0: none).
func (d *DocSession) Version() uint64 { return d.version }

// UpdatedAt is the time (ms) of the last operation or snapshot.
func (d *DocSession) UpdatedAt() int64 { return d.updatedAt }

// Empty reports whether the session holds nothing.
func (d *DocSession) Empty() bool { return d.version == 0 && d.snapshot == nil }

// Snapshot is the latest snapshot (nil: none); read-only.
func (d *DocSession) Snapshot() *opsyncpb.DocSnapshot { return d.snapshot }

// Ops is the number and the bytes of the operations kept after the
// snapshot.
func (d *DocSession) Ops() (int, int) { return len(d.ops), d.opsBytes }

// Since returns the operations after version base (read-only), and false
// when some of them are no longer kept (a snapshot replaced them).
func (d *DocSession) Since(base uint64) ([]*opsyncpb.DocOp, bool) {
	if base >= d.version {
		return nil, true
	}
	first := d.version - uint64(len(d.ops)) + 1 // the version of ops[0]
	if base+1 < first {
		return nil, false
	}
	return d.ops[base+1-first:], true
}

// Joiner is what a late joiner receives: the latest snapshot and every
// operation after it.
func (d *DocSession) Joiner() *opsyncpb.DocumentUpdate {
	return &opsyncpb.DocumentUpdate{Snapshot: d.snapshot, Ops: d.ops}
}

// Apply applies the event stored under seq. The actor checks
// versions before it journals, so an event that does not follow the state
// means the journal is not this session's.
func (d *DocSession) Apply(seq uint64, ev *opsyncpb.Event) error {
	if seq <= d.lastSeq {
		return fmt.Errorf("events: document event %d applied after %d", seq, d.lastSeq)
	}
	var err error
	switch k := ev.Kind.(type) {
	case *opsyncpb.Event_DocOpsAccepted:
		err = d.applyOps(k.DocOpsAccepted)
	case *opsyncpb.Event_DocSnapshotSaved:
		err = d.applySnapshot(k.DocSnapshotSaved)
	case *opsyncpb.Event_DocSessionSealed:
		var content bool
		content, err = d.applySealed(seq, k.DocSessionSealed)
		if err == nil && !content {
			// A webhook's record is no change of the session's content:
			// its time to live counts from the last one.
			d.lastSeq = seq
			return nil
		}
	default:
		return fmt.Errorf("events: %T is not a document session event", ev.Kind)
	}
	if err != nil {
		return err
	}
	d.lastSeq = seq
	d.updatedAt = ev.Time
	return nil
}

func (d *DocSession) applyOps(m *opsyncpb.DocOpsAccepted) error {
	if m.FirstVersion != d.version+1 || len(m.Ops) == 0 {
		return fmt.Errorf("events: document operations at version %d after version %d", m.FirstVersion, d.version)
	}
	for i, op := range m.Ops {
		d.ops = append(d.ops, &opsyncpb.DocOp{Version: m.FirstVersion + uint64(i), Data: op, UserId: m.UserId})
		d.opsBytes += len(op)
	}
	d.version += uint64(len(m.Ops))
	return nil
}

func (d *DocSession) applySnapshot(m *opsyncpb.DocSnapshotSaved) error {
	s := m.Snapshot
	if s.GetVersion() > d.version || (d.snapshot != nil && s.GetVersion() <= d.snapshot.Version) {
		return fmt.Errorf("events: document snapshot at version %d (session at %d)", s.GetVersion(), d.version)
	}
	d.snapshot = s
	d.dropThrough(s.Version)
	return nil
}

// dropThrough forgets the operations up to version v (a snapshot has
// them), copying the rest so that the old array can be freed.
func (d *DocSession) dropThrough(v uint64) {
	n := 0
	for n < len(d.ops) && d.ops[n].Version <= v {
		d.opsBytes -= len(d.ops[n].Data)
		n++
	}
	d.ops = append([]*opsyncpb.DocOp(nil), d.ops[n:]...)
}

// SnapshotState returns the state as a message to store.
func (d *DocSession) SnapshotState() *opsyncpb.DocSessionState {
	return &opsyncpb.DocSessionState{LastSeq: d.lastSeq, Version: d.version, Snapshot: d.snapshot, Ops: d.ops, UpdatedAt: d.updatedAt}
}

// RestoreDocSession rebuilds the state a snapshot was taken of.
func RestoreDocSession(s *opsyncpb.DocSessionState) *DocSession {
	d := &DocSession{lastSeq: s.LastSeq, version: s.Version, snapshot: s.Snapshot, ops: s.Ops, updatedAt: s.UpdatedAt}
	for _, op := range s.Ops {
		d.opsBytes += len(op.Data)
	}
	return d
}

// Cleared is the state after the session's data was removed: nothing but
// the last sequence number, which the journal keeps (new events go above
// it).
func (d *DocSession) Cleared() *DocSession {
	return &DocSession{lastSeq: d.lastSeq, unhooked: d.unhooked, open: d.open}
}
