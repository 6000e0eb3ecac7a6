package state

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Block is the state of a block entity: its latest version, nil before
// it was created, its tombstone (Deleted) once deleted. Its journal holds
// every version (EntityCreated, then EntityUpdated), its snapshots the
// latest; after EntityDeleted the actor removes the journal's events.
type Block struct {
	lastSeq uint64
	entity  *opsyncpb.BlockEntity
}

// NewBlock returns the state of a block that has no events.
func NewBlock() *Block { return &Block{} }

// LastSeq is the sequence number of the last applied event.
func (b *Block) LastSeq() uint64 { return b.lastSeq }

// Exists reports whether the block was created and not deleted since.
func (b *Block) Exists() bool { return b.entity != nil && !b.entity.Deleted }

// Deleted reports whether the block's last event deleted it.
func (b *Block) Deleted() bool { return b.entity.GetDeleted() }

// Entity is the block's latest version (nil before creation, the
// tombstone after a deletion); read-only.
func (b *Block) Entity() *opsyncpb.BlockEntity { return b.entity }

// Version is the block's current version (a deleted block's: its
// deletion's), 0 before creation.
func (b *Block) Version() uint64 { return b.entity.GetVersion() }

// Apply applies the event stored under seq. An update must raise the
// version: the actor refuses the others before they are journaled, so one
// in the journal means the journal is not this block's.
func (b *Block) Apply(seq uint64, ev *opsyncpb.Event) error {
	if seq <= b.lastSeq {
		return fmt.Errorf("events: block event %d applied after %d", seq, b.lastSeq)
	}
	switch k := ev.Kind.(type) {
	case *opsyncpb.Event_EntityCreated:
		// A deleted block may be created again, above its tombstone.
		e := k.EntityCreated.Entity
		if b.Exists() {
			return fmt.Errorf("events: block %s created twice", b.entity.BlockId)
		}
		if err := b.raises(e); err != nil {
			return err
		}
		b.entity = proto.Clone(e).(*opsyncpb.BlockEntity)
	case *opsyncpb.Event_EntityUpdated:
		e := k.EntityUpdated.Entity
		if !b.Exists() {
			return fmt.Errorf("events: block %s updated while it does not exist", e.GetBlockId())
		}
		if err := b.raises(e); err != nil {
			return err
		}
		b.entity = proto.Clone(e).(*opsyncpb.BlockEntity)
	case *opsyncpb.Event_EntityDeleted:
		e := k.EntityDeleted.Tombstone
		// Replayed alone (its block's earlier events removed, a crash
		// before its tombstone snapshot was saved) it is still the state.
		if b.Deleted() || !e.GetDeleted() {
			return fmt.Errorf("events: block %s deleted twice or without a tombstone", e.GetBlockId())
		}
		if err := b.raises(e); err != nil {
			return err
		}
		b.entity = proto.Clone(e).(*opsyncpb.BlockEntity)
	default:
		return fmt.Errorf("events: %T is not a block event", ev.Kind)
	}
	b.lastSeq = seq
	return nil
}

// raises checks that e is a newer version than the block's, so that
// viewers never go back, across a deletion and a re-creation too.
func (b *Block) raises(e *opsyncpb.BlockEntity) error {
	if b.entity != nil && e.GetVersion() <= b.entity.Version {
		return fmt.Errorf("events: block %s went from version %d to %d", b.entity.BlockId, b.entity.Version, e.GetVersion())
	}
	return nil
}

// Snapshot returns the state as a message to store.
func (b *Block) Snapshot() *opsyncpb.BlockSnapshot {
	return &opsyncpb.BlockSnapshot{LastSeq: b.lastSeq, Entity: b.entity}
}

// RestoreBlock rebuilds the state a snapshot was taken of.
func RestoreBlock(s *opsyncpb.BlockSnapshot) *Block {
	return &Block{lastSeq: s.LastSeq, entity: s.Entity}
}
