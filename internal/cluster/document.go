package cluster

import (
	"context"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Routes of collaborative document sessions to the session actor of
// (environment = instance, document id), wherever the cluster has it.

// SubmitDocumentOps asks a document session to accept an editor's
// operations at base_version.
func (m *Member) SubmitDocumentOps(ctx context.Context, instanceID, documentID string, msg *opsyncpb.SubmitDocumentOps) (*opsyncpb.DocumentAnswer, error) {
	return request[*opsyncpb.DocumentAnswer](ctx, m, actors.DocumentIdentity(instanceID, documentID), actors.KindDocSession, msg)
}

// SubmitDocumentSnapshot stores an editor's snapshot of a document.
func (m *Member) SubmitDocumentSnapshot(ctx context.Context, instanceID, documentID string, msg *opsyncpb.SubmitDocumentSnapshot) (*opsyncpb.DocumentAnswer, error) {
	return request[*opsyncpb.DocumentAnswer](ctx, m, actors.DocumentIdentity(instanceID, documentID), actors.KindDocSession, msg)
}

// DocumentSession asks a document session for its state.
func (m *Member) DocumentSession(ctx context.Context, instanceID, documentID string) (*opsyncpb.DocumentSessionInfo, error) {
	return query[*opsyncpb.DocumentSessionInfo](ctx, m, actors.DocumentIdentity(instanceID, documentID), actors.KindDocSession, &opsyncpb.GetDocumentSession{})
}

// SweepDocumentSession wakes a document session (by its identity) so that
// it removes its data once its time to live has passed.
func (m *Member) SweepDocumentSession(ctx context.Context, identity string) error {
	_, err := request[*opsyncpb.DocumentSessionInfo](ctx, m, identity, actors.KindDocSession, &opsyncpb.SweepDocumentSession{})
	return err
}
