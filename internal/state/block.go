package state

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Block is the state of a block entity: its latest version, nil before
// it was created. Its journal holds every version (EntityCreated, then
// EntityUpdated), its snapshots the latest.
type Block struct {
	lastSeq uint64
	entity  *opsyncpb.BlockEntity
}

// NewBlock returns the state of a block that has no events.
func NewBlock() *Block { return &Block{} }

// LastSeq is the sequence number of the last applied event.
func (b *Block) LastSeq() uint64 { return b.lastSeq }

// Exists reports whether the block was created.
func (b *Block) Exists() bool { return b.entity != nil }

// Entity is the block's latest version (nil before creation); read-only.
func (b *Block) Entity() *opsyncpb.BlockEntity { return b.entity }

// Version is the block's current version, 0 before creation.
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
		if b.entity != nil {
			return fmt.Errorf("events: block %s created twice", b.entity.BlockId)
		}
		b.entity = proto.Clone(k.EntityCreated.Entity).(*opsyncpb.BlockEntity)
	case *opsyncpb.Event_EntityUpdated:
		e := k.EntityUpdated.Entity
		switch {
		case b.entity == nil:
			return fmt.Errorf("events: block %s updated before it was created", e.GetBlockId())
		case e.GetVersion() <= b.entity.Version:
			return fmt.Errorf("events: block %s went from version %d to %d", b.entity.BlockId, b.entity.Version, e.GetVersion())
		}
		b.entity = proto.Clone(e).(*opsyncpb.BlockEntity)
	default:
		return fmt.Errorf("events: %T is not a block event", ev.Kind)
	}
	b.lastSeq = seq
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
