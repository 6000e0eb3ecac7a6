package card

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/resultcode"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Deliveries ride the mobile-sync spine: a delivery to a user is an entry
// of that user's stream under the reserved bizType OPSYNC_CARD (its
// payload a CardDelivery), so a recipient offline now gets it at the next
// connect, from its sync point, once. The users are journaled as the
// card's recipients first (CardDelivered), so that a delivery that
// arrives can always be opened.

// DeliverResult is one space's outcome, as the service answers it.
type DeliverResult struct {
	SpaceID   string `json:"spaceId"`
	SpaceType string `json:"spaceType"`
	Success   bool   `json:"success"`
	CarrierID string `json:"carrierId"`
	ErrorMsg  string `json:"errorMsg"`
}

// Deliver delivers a card to the users of spaces: per-space results; a
// refusal of the whole request only when the card does not exist or
// opsync failed before anything was delivered.
func (s *Service) Deliver(ctx context.Context, instanceID, outTrackID string, spaces []Space) ([]DeliverResult, *Error) {
	var users []string
	seen := map[string]bool{}
	for _, sp := range spaces {
		if sp.Fail != "" {
			continue
		}
		for _, u := range sp.Users {
			if !seen[u] {
				seen[u] = true
				users = append(users, u)
			}
		}
	}
	res, err := s.router.DeliverCard(ctx, instanceID, outTrackID, users)
	ans, e := s.answer(res, err, outTrackID)
	if e != nil {
		return nil, e
	}
	results := make([]DeliverResult, len(spaces))
	for i, sp := range spaces {
		results[i] = DeliverResult{SpaceID: sp.ID, SpaceType: sp.SpaceType(), ErrorMsg: sp.Fail}
	}
	if len(users) == 0 {
		return results, nil
	}
	tenant, e := s.deliveryTenant(ctx, instanceID)
	if e != nil {
		return nil, e
	}
	now := s.opts.Now().UnixMilli()
	type item struct{ space, user int }
	var reqs []*push.Request
	var items []item
	for i, sp := range spaces {
		if sp.Fail != "" {
			continue
		}
		payload, err := proto.Marshal(&opsyncpb.CardDelivery{OutTrackId: outTrackID, CardTemplateId: ans.Card.CardTemplateId,
			SpaceId: sp.ID, SpaceType: sp.SpaceType(), DeliveredAt: now})
		if err != nil {
			return nil, ErrSystem
		}
		for j, u := range sp.Users {
			reqs = append(reqs, &push.Request{Scope: push.Specified, BizType: actors.CardBizType, LinkToken: u,
				ThirdMsgID: deliveryID(outTrackID, sp), Binary: payload})
			items = append(items, item{i, j})
		}
	}
	out := tenant.Batch(ctx, reqs)
	failed := make([][]string, len(spaces))
	for k, r := range out {
		if r.Code == resultcode.BizNotOnline {
			s.ensured.Delete(instanceID) // the instance was made anew: make the bizType again next time
		}
		if r.Success() {
			metrics.CardDeliveries.WithLabelValues("ok").Inc()
		} else {
			metrics.CardDeliveries.WithLabelValues("failed").Inc()
			it := items[k]
			failed[it.space] = append(failed[it.space], fmt.Sprintf("%s: %s", spaces[it.space].Users[it.user], r.Code))
		}
	}
	for i, sp := range spaces {
		if sp.Fail != "" {
			continue
		}
		if len(failed[i]) > 0 {
			results[i].ErrorMsg = "not delivered to " + strings.Join(failed[i], ", ")
			continue
		}
		results[i].Success, results[i].CarrierID = true, deliveryID(outTrackID, sp)
	}
	return results, nil
}

// deliveryID is the delivery's thirdMsgId in each user's stream (and its
// carrierId): one per card and space, so that delivering the same card to
// the same space again stores nothing new (the stream answers it as a
// duplicate, a success).
func deliveryID(outTrackID string, sp Space) string {
	h := sha256.Sum256([]byte(outTrackID + "\x00" + sp.Type + "." + sp.ID))
	return "card_" + hex.EncodeToString(h[:12])
}

// deliveryTenant is the instance to push deliveries into, its reserved
// bizType made on first use.
func (s *Service) deliveryTenant(ctx context.Context, instanceID string) (*push.Tenant, *Error) {
	if _, ok := s.ensured.Load(instanceID); !ok {
		res, err := s.router.EnsureCardBizType(ctx, instanceID)
		if err != nil || res.Code != actors.ConfigOK {
			s.log.Warn("card bizType not created", slog.String("instance", instanceID), slog.Any("err", err), slog.String("detail", res.GetMessage()))
			return nil, ErrSystem
		}
		s.ensured.Store(instanceID, true)
		s.push.Invalidate(instanceID) // the cached configs lack it
	}
	t, res := s.push.Authorize(ctx, instanceID, push.Admin)
	if t == nil {
		s.log.Warn("card delivery refused", slog.String("instance", instanceID), slog.String("code", res.Code))
		return nil, ErrSystem
	}
	return t, nil
}

// CreateAndDeliver creates a card and delivers it.
func (s *Service) CreateAndDeliver(ctx context.Context, instanceID string, c *opsyncpb.Card, spaces []Space) ([]DeliverResult, *Error) {
	if e := s.Create(ctx, instanceID, c); e != nil {
		return nil, e
	}
	return s.Deliver(ctx, instanceID, c.OutTrackId, spaces)
}
