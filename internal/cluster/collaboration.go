package cluster

import (
	"context"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// The REST API's view of document sessions (collaborations/{id}).

// DocumentCollaboration asks a document session for its REST view.
func (m *Member) DocumentCollaboration(ctx context.Context, instanceID, documentID string) (*opsyncpb.DocumentCollaboration, error) {
	return query[*opsyncpb.DocumentCollaboration](ctx, m, actors.DocumentIdentity(instanceID, documentID), actors.KindDocSession, &opsyncpb.GetDocumentCollaboration{})
}

// EndDocumentSession ends a document's session now (reason: see
// actors.EndDeleted); it answers once the session's data is removed.
func (m *Member) EndDocumentSession(ctx context.Context, instanceID, documentID, reason string) (*opsyncpb.DocumentCollaboration, error) {
	return request[*opsyncpb.DocumentCollaboration](ctx, m, actors.DocumentIdentity(instanceID, documentID), actors.KindDocSession, &opsyncpb.EndDocumentSession{Reason: reason})
}
