package cluster

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Routes of the documents' permanent data (the REST v5 API) to the actor
// of (environment, document) and of the environment, wherever the cluster
// has them.

// DocData sends a command to a document's permanent-data actor.
func (m *Member) DocData(ctx context.Context, envID string, cmd *opsyncpb.DocDataCommand) (*opsyncpb.DocDataAnswer, error) {
	identity := actors.DocDataIdentity(envID, cmd.DocumentId)
	if cmd.Action == opsyncpb.DocAction_DOC_ACTION_GET || cmd.Action == opsyncpb.DocAction_DOC_ACTION_LIST {
		return query[*opsyncpb.DocDataAnswer](ctx, m, identity, actors.KindDocData, cmd)
	}
	return request[*opsyncpb.DocDataAnswer](ctx, m, identity, actors.KindDocData, cmd)
}

// DocEnv sends a command (RotateDocSecret, VerifyDocRequest, GetDocEnv)
// to an environment's document config actor.
func (m *Member) DocEnv(ctx context.Context, envID string, cmd proto.Message) (*opsyncpb.DocEnvAnswer, error) {
	if _, rotate := cmd.(*opsyncpb.RotateDocSecret); rotate {
		return request[*opsyncpb.DocEnvAnswer](ctx, m, envID, actors.KindDocEnv, cmd)
	}
	return query[*opsyncpb.DocEnvAnswer](ctx, m, envID, actors.KindDocEnv, cmd)
}

// DocHooks sends a command (AppendDocHooks, SetDocHooks, GetDocHooks,
// WakeDocHooks) to an environment's webhook outbox.
func (m *Member) DocHooks(ctx context.Context, envID string, cmd proto.Message) (*opsyncpb.DocHooksAnswer, error) {
	switch cmd.(type) {
	case *opsyncpb.GetDocHooks, *opsyncpb.WakeDocHooks:
		return query[*opsyncpb.DocHooksAnswer](ctx, m, envID, actors.KindDocHooks, cmd)
	}
	return request[*opsyncpb.DocHooksAnswer](ctx, m, envID, actors.KindDocHooks, cmd)
}
