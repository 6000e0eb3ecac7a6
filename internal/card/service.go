package card

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/resultcode"
	"github.com/opsync/opsync/internal/tenantauth"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Router is what the service needs of the cluster: the card actors, the
// instances' callback registrations and reserved bizType, and the list of
// instances (to find the instance an API key names). *cluster.Member
// implements it.
type Router interface {
	CreateCard(ctx context.Context, instanceID string, c *opsyncpb.Card) (*opsyncpb.CardAnswer, error)
	UpdateCard(ctx context.Context, instanceID, outTrackID string, u *opsyncpb.UpdateCard) (*opsyncpb.CardAnswer, error)
	DeliverCard(ctx context.Context, instanceID, outTrackID string, userIDs []string) (*opsyncpb.CardAnswer, error)
	Card(ctx context.Context, instanceID, outTrackID, userID string) (*opsyncpb.CardAnswer, error)
	RegisterCardCallback(ctx context.Context, instanceID string, r *opsyncpb.RegisterCardCallback) (*opsyncpb.CardCallbackResult, error)
	CardCallback(ctx context.Context, instanceID, routeKey string) (*opsyncpb.CardCallbackResult, error)
	EnsureCardBizType(ctx context.Context, instanceID string) (*opsyncpb.ConfigResult, error)
	Instances(ctx context.Context) (*opsyncpb.InstanceList, error)
}

// Options configure the service.
type Options struct {
	Logger *slog.Logger
	// AllowPrivateCallbacks lets callback URLs name private, loopback and
	// link-local targets (serve --card-callback-private).
	AllowPrivateCallbacks bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the card use case.
type Service struct {
	router Router
	push   *push.Service
	keys   *tenantauth.KeyIndex
	tokens tenantauth.Tokens
	opts   Options
	log    *slog.Logger
	// ensured lists the instances whose reserved bizType this node saw
	// created (it is never deleted: config refuses it).
	ensured sync.Map
}

// tokenPurpose names the signing key of card access tokens.
const tokenPurpose = "card access token"

// New returns the card service: on router, delivering and authenticating
// through the push service (whose instance cache knows the keys).
func New(router Router, ps *push.Service, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{router: router, push: ps, keys: tenantauth.NewKeyIndex(ps, router),
		tokens: tenantauth.Tokens{Push: ps, Purpose: tokenPurpose, Now: opts.Now}, opts: opts, log: opts.Logger}
}

// Create creates a card.
func (s *Service) Create(ctx context.Context, instanceID string, c *opsyncpb.Card) *Error {
	res, err := s.router.CreateCard(ctx, instanceID, c)
	_, e := s.answer(res, err, c.OutTrackId)
	return e
}

// Update changes a card's data; its viewers get it at once.
func (s *Service) Update(ctx context.Context, instanceID, outTrackID string, u *opsyncpb.UpdateCard) *Error {
	res, err := s.router.UpdateCard(ctx, instanceID, outTrackID, u)
	_, e := s.answer(res, err, outTrackID)
	return e
}

// Get is a card's stored state and its viewers online.
func (s *Service) Get(ctx context.Context, instanceID, outTrackID string) (*opsyncpb.CardAnswer, *Error) {
	if e := checkOutTrackID(outTrackID); e != nil {
		return nil, e
	}
	res, err := s.router.Card(ctx, instanceID, outTrackID, "")
	return s.answer(res, err, outTrackID)
}

func (s *Service) answer(res *opsyncpb.CardAnswer, err error, outTrackID string) (*opsyncpb.CardAnswer, *Error) {
	if err != nil {
		s.log.Warn("card request failed", slog.String("card", outTrackID), slog.Any("err", err))
		return nil, ErrSystem
	}
	switch res.Code {
	case "":
		return res, nil
	case actors.CardNotFound:
		return nil, notExist(outTrackID)
	case actors.CardAlreadyExists:
		return nil, &Error{Code: CodeAlreadyExists, Status: http.StatusBadRequest, Msg: "a card with outTrackId " + outTrackID + " exists"}
	}
	s.log.Warn("card request failed", slog.String("card", outTrackID), slog.String("detail", res.Detail))
	return nil, ErrSystem
}

// RegisterCallback registers an instance's callback URL for a route key
// (replacing one only with forceUpdate); an absent apiSecret is
// generated. It answers the apiSecret and the URL.
func (s *Service) RegisterCallback(ctx context.Context, instanceID string, r *RegisterRequest) (string, string, *Error) {
	if e := CheckCallbackURL(r.CallbackURL, s.opts.AllowPrivateCallbacks); e != nil {
		return "", "", e
	}
	secret := r.APISecret
	if secret == "" {
		var b [24]byte
		_, _ = rand.Read(b[:])
		secret = base64.RawURLEncoding.EncodeToString(b[:])
	}
	res, err := s.router.RegisterCardCallback(ctx, instanceID, &opsyncpb.RegisterCardCallback{RouteKey: r.CallbackRouteKey,
		Url: r.CallbackURL, ApiSecret: secret, ForceUpdate: r.ForceUpdate})
	if err != nil {
		s.log.Warn("callback registration failed", slog.String("instance", instanceID), slog.Any("err", err))
		return "", "", ErrSystem
	}
	switch res.Code {
	case "":
		return secret, r.CallbackURL, nil
	case actors.CardAlreadyExists:
		return "", "", &Error{Code: CodeRouteKeyExists, Status: http.StatusBadRequest, Msg: res.Detail}
	case actors.ConfigInvalid:
		return "", "", invalid(res.Detail)
	}
	s.log.Warn("callback registration failed", slog.String("instance", instanceID), slog.String("detail", res.Detail))
	return "", "", ErrSystem
}

// Authenticate names the instance a caller's credential authorises: an
// access token issued by IssueToken, or the instance's API key.
func (s *Service) Authenticate(ctx context.Context, credential string) (string, *Error) {
	if credential == "" {
		return "", ErrAuth
	}
	id, res := tenantauth.Authenticate(ctx, s.tokens, s.keys, credential)
	switch res.Code {
	case "":
		return id, nil
	case resultcode.SystemError:
		return "", ErrSystem
	}
	return "", ErrAuth
}

// IssueToken exchanges an instance's app key (its id) and app secret (its
// API key) for an access token and its lifetime in seconds.
func (s *Service) IssueToken(ctx context.Context, appKey, appSecret string) (string, int, *Error) {
	if appKey == "" || appSecret == "" {
		return "", 0, invalid("appKey and appSecret are required")
	}
	t, res := s.push.Authorize(ctx, appKey, push.APIKey(appSecret))
	switch {
	case res.Code == resultcode.SystemError:
		return "", 0, ErrSystem
	case t == nil:
		return "", 0, &Error{Code: CodeAuth, Status: http.StatusBadRequest, Msg: "appKey or appSecret is not valid"}
	}
	tok, exp, err := s.tokens.Issue(t)
	if err != nil {
		return "", 0, ErrSystem
	}
	return tok, exp, nil
}
