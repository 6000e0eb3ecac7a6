package card

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/opsync/opsync/internal/actors"
)

// DynamicPlan is what the edge needs to pull a card's dynamic data for
// one viewer.
type DynamicPlan struct {
	CorpID      string // the instance id
	CallbackURL string
	APISecret   string
	Sources     []DynamicSource // in the card's order
}

// DynamicSource is one dynamic data source of a card.
type DynamicSource struct {
	ID       string
	Interval time.Duration // 0: ONCE
}

// ViewPlan is what the edge needs to pull a card's dynamic data for one viewer:
// nil when the card has no dynamic sources. An error when the card does not exist or
// userID is not a recipient, or no callback is registered for its callbackRouteKey.
func (s *Service) ViewPlan(ctx context.Context, instanceID, outTrackID, userID string) (*DynamicPlan, *Error) {
	if e := checkOutTrackID(outTrackID); e != nil {
		return nil, e
	}
	res, err := s.router.Card(ctx, instanceID, outTrackID, userID)
	c, e := s.answer(res, err, outTrackID)
	if e != nil {
		return nil, e
	}
	if !c.Recipient {
		return nil, notExist(outTrackID) // as for an unknown card: ids cannot be probed
	}
	if len(c.Card.DynamicSources) == 0 {
		return nil, nil
	}
	if c.Card.CallbackRouteKey == "" {
		return nil, notRegistered("the card has dynamic data sources and no callbackRouteKey")
	}
	cb, err := s.router.CardCallback(ctx, instanceID, c.Card.CallbackRouteKey)
	switch {
	case err != nil:
		s.log.Warn("callback lookup failed", slog.String("instance", instanceID), slog.Any("err", err))
		return nil, ErrSystem
	case cb.Code == actors.CardNotFound:
		return nil, notRegistered("no callback is registered for callbackRouteKey " + c.Card.CallbackRouteKey)
	case cb.Code != "":
		s.log.Warn("callback lookup failed", slog.String("instance", instanceID), slog.String("detail", cb.Detail))
		return nil, ErrSystem
	}
	p := &DynamicPlan{CorpID: instanceID, CallbackURL: cb.Url, APISecret: cb.ApiSecret}
	for _, src := range c.Card.DynamicSources {
		p.Sources = append(p.Sources, DynamicSource{ID: src.SourceId, Interval: time.Duration(src.IntervalSeconds) * time.Second})
	}
	return p, nil
}

func notRegistered(msg string) *Error {
	return &Error{Code: CodeCallbackNotRegistered, Status: http.StatusBadRequest, Msg: msg}
}
