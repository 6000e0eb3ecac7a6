package cluster

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Instance administration routes: credentials, settings, the operation log,
// the registry and the authorization checks of the edge.

// InstanceCommand sends an instance command (CreateInstance, GetInstance,
// RotateInstanceKeys, ChangeInstanceSettings, RecordOperation) to an
// instance.
func (m *Member) InstanceCommand(ctx context.Context, instanceID string, cmd proto.Message) (*opsyncpb.InstanceResult, error) {
	return request[*opsyncpb.InstanceResult](ctx, m, instanceID, actors.KindInstance, cmd)
}

// Operations queries an instance's operation log.
func (m *Member) Operations(ctx context.Context, instanceID string, q *opsyncpb.QueryOperations) (*opsyncpb.OperationList, error) {
	return query[*opsyncpb.OperationList](ctx, m, instanceID, actors.KindInstance, q)
}

// PushContext asks an instance for its API key and configs with its
// journal version: what the push service caches.
func (m *Member) PushContext(ctx context.Context, instanceID string) (*opsyncpb.PushContext, error) {
	return query[*opsyncpb.PushContext](ctx, m, instanceID, actors.KindInstance, &opsyncpb.GetPushContext{})
}

// AuthorizePush checks a push API key against the instance's.
func (m *Member) AuthorizePush(ctx context.Context, instanceID, apiKey string) (*opsyncpb.PushAuthorization, error) {
	return query[*opsyncpb.PushAuthorization](ctx, m, instanceID, actors.KindInstance, &opsyncpb.AuthorizePush{ApiKey: apiKey})
}

// AuthorizeClient checks a connecting client's identity with its instance.
func (m *Member) AuthorizeClient(ctx context.Context, instanceID string, q *opsyncpb.AuthorizeClient) (*opsyncpb.ClientAuthorization, error) {
	return query[*opsyncpb.ClientAuthorization](ctx, m, instanceID, actors.KindInstance, q)
}

// RegisterInstance adds an instance id to the registry (idempotent).
func (m *Member) RegisterInstance(ctx context.Context, instanceID string) (*opsyncpb.RegistryResult, error) {
	return request[*opsyncpb.RegistryResult](ctx, m, actors.RegistryIdentity, actors.KindRegistry, &opsyncpb.RegisterInstance{InstanceId: instanceID})
}

// Instances lists the registered instances.
func (m *Member) Instances(ctx context.Context) (*opsyncpb.InstanceList, error) {
	return query[*opsyncpb.InstanceList](ctx, m, actors.RegistryIdentity, actors.KindRegistry, &opsyncpb.ListInstances{})
}
