package edge

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/block"
	"github.com/opsync/opsync/internal/card"
	"github.com/opsync/opsync/internal/docrest"
	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Backend is what the edge asks of the cluster: the node's cluster member
// (*cluster.Member) routes each call to the actor that owns it, wherever
// in the set that lives. The edge knows nothing else of the cluster.
type Backend interface {
	// push.Router: the push paths, through the push service.
	push.Router
	// block.Router: the block API, through the block service.
	block.Router
	// card.Router: the card API, through the card service.
	card.Router
	// docrest.Router: the documents REST API and environments' secrets.
	docrest.Router
	// DocumentSessions: collaborative document sessions (docsession.go).
	DocumentSessions
	// OnInstanceChanged registers fn for every change notice an instance
	// of the set sends (the push service's cache listens).
	OnInstanceChanged(fn func(instanceID string, version uint64))

	// Attach starts the client actor of a new connection on this node.
	Attach(p actors.ClientParams) *actors.Client
	// AuthorizeClient checks a connecting client with its instance.
	AuthorizeClient(ctx context.Context, instanceID string, q *opsyncpb.AuthorizeClient) (*opsyncpb.ClientAuthorization, error)

	// Configs.
	BizType(ctx context.Context, instanceID, bizType string) (*opsyncpb.BizTypeAnswer, error)
	BizTypes(ctx context.Context, instanceID string) (*opsyncpb.BizTypeList, error)
	ChangeConfig(ctx context.Context, instanceID string, cmd proto.Message) (*opsyncpb.ConfigResult, error)

	// Instances, their registry and operation logs.
	InstanceCommand(ctx context.Context, instanceID string, cmd proto.Message) (*opsyncpb.InstanceResult, error)
	RegisterInstance(ctx context.Context, instanceID string) (*opsyncpb.RegistryResult, error)
	Instances(ctx context.Context) (*opsyncpb.InstanceList, error)
	Operations(ctx context.Context, instanceID string, q *opsyncpb.QueryOperations) (*opsyncpb.OperationList, error)

	// Records of a user's or device's stream.
	StreamStatus(ctx context.Context, instanceID string, target opsyncpb.Target, id string, since int64, limit uint32) (*opsyncpb.StreamStatusResult, error)
	// GlobalStreamStatus is the records of a global bizType's stream.
	GlobalStreamStatus(ctx context.Context, instanceID, bizType string, since int64) (*opsyncpb.StreamStatusResult, error)

	// This member and the set as it sees them.
	RemoteAddr() string
	Members() []string
	Activations() map[string]int
}
