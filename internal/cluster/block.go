package cluster

import (
	"context"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Routes of the block API to the block entity of (instance, block id),
// wherever the cluster has it.

// CreateBlock creates a block (answering the one that exists under its id).
func (m *Member) CreateBlock(ctx context.Context, instanceID string, e *opsyncpb.BlockEntity) (*opsyncpb.EntityAnswer, error) {
	return request[*opsyncpb.EntityAnswer](ctx, m, actors.BlockIdentity(instanceID, e.BlockId), actors.KindBlock, &opsyncpb.CreateEntity{Entity: e})
}

// UpdateBlock journals a new version of a block and sends it to its viewers.
func (m *Member) UpdateBlock(ctx context.Context, instanceID string, e *opsyncpb.BlockEntity) (*opsyncpb.EntityAnswer, error) {
	return request[*opsyncpb.EntityAnswer](ctx, m, actors.BlockIdentity(instanceID, e.BlockId), actors.KindBlock, &opsyncpb.UpdateEntity{Entity: e})
}

// Block asks a block for its state and viewers.
func (m *Member) Block(ctx context.Context, instanceID, blockID string) (*opsyncpb.EntityAnswer, error) {
	return query[*opsyncpb.EntityAnswer](ctx, m, actors.BlockIdentity(instanceID, blockID), actors.KindBlock, &opsyncpb.GetEntity{})
}

// SendBlockMessage sends a typed message to the viewers of a block whose
// user is one of userIDs.
func (m *Member) SendBlockMessage(ctx context.Context, instanceID, blockID string, userIDs []string, msg *opsyncpb.TypedMessage) (*opsyncpb.TypedMessageSent, error) {
	return request[*opsyncpb.TypedMessageSent](ctx, m, actors.BlockIdentity(instanceID, blockID), actors.KindBlock, &opsyncpb.SendTypedMessage{UserIds: userIDs, Message: msg})
}

// DeleteBlock deletes a block; its viewers get its tombstone.
func (m *Member) DeleteBlock(ctx context.Context, instanceID, blockID string) (*opsyncpb.EntityAnswer, error) {
	return request[*opsyncpb.EntityAnswer](ctx, m, actors.BlockIdentity(instanceID, blockID), actors.KindBlock, &opsyncpb.DeleteEntity{})
}
