package cluster

import (
	"context"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Routes of the card API to the card of (instance, outTrackId), and to
// the instance for its callback registrations and the reserved bizType
// of deliveries.

// CreateCard creates a card (ALREADY_EXISTS if its outTrackId has one).
func (m *Member) CreateCard(ctx context.Context, instanceID string, c *opsyncpb.Card) (*opsyncpb.CardAnswer, error) {
	return request[*opsyncpb.CardAnswer](ctx, m, actors.CardIdentity(instanceID, c.OutTrackId), actors.KindCard, &opsyncpb.CreateCard{Card: c})
}

// UpdateCard changes a card's public and private data and sends it to
// its viewers.
func (m *Member) UpdateCard(ctx context.Context, instanceID, outTrackID string, u *opsyncpb.UpdateCard) (*opsyncpb.CardAnswer, error) {
	return request[*opsyncpb.CardAnswer](ctx, m, actors.CardIdentity(instanceID, outTrackID), actors.KindCard, u)
}

// DeliverCard journals users as recipients the card was delivered to.
func (m *Member) DeliverCard(ctx context.Context, instanceID, outTrackID string, userIDs []string) (*opsyncpb.CardAnswer, error) {
	return request[*opsyncpb.CardAnswer](ctx, m, actors.CardIdentity(instanceID, outTrackID), actors.KindCard, &opsyncpb.DeliverCard{UserIds: userIDs})
}

// Card asks a card for its state, and whether userID (if set) is one of
// its recipients.
func (m *Member) Card(ctx context.Context, instanceID, outTrackID, userID string) (*opsyncpb.CardAnswer, error) {
	return query[*opsyncpb.CardAnswer](ctx, m, actors.CardIdentity(instanceID, outTrackID), actors.KindCard, &opsyncpb.GetCard{UserId: userID})
}

// RegisterCardCallback stores an instance's callback registration.
func (m *Member) RegisterCardCallback(ctx context.Context, instanceID string, r *opsyncpb.RegisterCardCallback) (*opsyncpb.CardCallbackResult, error) {
	return request[*opsyncpb.CardCallbackResult](ctx, m, instanceID, actors.KindInstance, r)
}

// CardCallback is an instance's registration of routeKey, its apiSecret
// opened.
func (m *Member) CardCallback(ctx context.Context, instanceID, routeKey string) (*opsyncpb.CardCallbackResult, error) {
	return query[*opsyncpb.CardCallbackResult](ctx, m, instanceID, actors.KindInstance, &opsyncpb.GetCardCallback{RouteKey: routeKey})
}

// EnsureCardBizType creates the instance's reserved bizType of card
// deliveries unless it has it.
func (m *Member) EnsureCardBizType(ctx context.Context, instanceID string) (*opsyncpb.ConfigResult, error) {
	return request[*opsyncpb.ConfigResult](ctx, m, instanceID, actors.KindInstance, &opsyncpb.EnsureCardBizType{})
}
