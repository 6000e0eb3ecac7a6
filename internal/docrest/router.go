package docrest

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Router is what the REST API needs of the cluster: the actor of each
// document's permanent data and of each environment's document config.
// *cluster.Member implements it.
type Router interface {
	DocData(ctx context.Context, envID string, cmd *opsyncpb.DocDataCommand) (*opsyncpb.DocDataAnswer, error)
	DocEnv(ctx context.Context, envID string, cmd proto.Message) (*opsyncpb.DocEnvAnswer, error)
	DocHooks(ctx context.Context, envID string, cmd proto.Message) (*opsyncpb.DocHooksAnswer, error)
}
