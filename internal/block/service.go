package block

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/resultcode"
	"github.com/opsync/opsync/internal/tenantauth"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Router is what the service needs of the cluster: the block actors, and
// the list of instances (to find the instance an API key names).
// *cluster.Member implements it.
type Router interface {
	CreateBlock(ctx context.Context, instanceID string, e *opsyncpb.BlockEntity) (*opsyncpb.EntityAnswer, error)
	UpdateBlock(ctx context.Context, instanceID string, e *opsyncpb.BlockEntity) (*opsyncpb.EntityAnswer, error)
	Block(ctx context.Context, instanceID, blockID string) (*opsyncpb.EntityAnswer, error)
	DeleteBlock(ctx context.Context, instanceID, blockID string) (*opsyncpb.EntityAnswer, error)
	SendBlockMessage(ctx context.Context, instanceID, blockID string, userIDs []string, msg *opsyncpb.TypedMessage) (*opsyncpb.TypedMessageSent, error)
	Instances(ctx context.Context) (*opsyncpb.InstanceList, error)
}

// tokenPurpose names the signing key of block tenant tokens (the
// service's tenant_access_token; see internal/tenantauth).
const tokenPurpose = "block tenant token"

// TokenLifetime is how long a tenant token is valid.
const TokenLifetime = tenantauth.Lifetime

// Service is the block use case.
type Service struct {
	router Router
	push   *push.Service
	keys   *tenantauth.KeyIndex
	tokens tenantauth.Tokens
	log    *slog.Logger
}

// New returns the block service: on router, authenticating callers
// through the push service (whose instance cache knows the keys).
func New(router Router, ps *push.Service, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{router: router, push: ps, keys: tenantauth.NewKeyIndex(ps, router),
		tokens: tenantauth.Tokens{Push: ps, Purpose: tokenPurpose}, log: log}
}

// Create creates a block: with a business id, the one bound to it (an
// existing block is answered as it is: created false).
func (s *Service) Create(ctx context.Context, instanceID string, e *opsyncpb.BlockEntity) (*opsyncpb.EntityAnswer, *Error) {
	if e.BusinessId != "" {
		e.BlockId = actors.BusinessBlockID(instanceID, e.BusinessId)
	} else {
		e.BlockId = actors.NewBlockID()
	}
	res, err := s.router.CreateBlock(ctx, instanceID, e)
	return s.answer(res, err, e.BlockId)
}

// Update journals a new version of a block and sends it to its viewers.
func (s *Service) Update(ctx context.Context, instanceID, blockID string, e *opsyncpb.BlockEntity) (*opsyncpb.EntityAnswer, *Error) {
	if !actors.ValidBlockID(blockID) {
		return nil, notFound("no block " + blockID)
	}
	e.BlockId = blockID
	res, err := s.router.UpdateBlock(ctx, instanceID, e)
	return s.answer(res, err, blockID)
}

// Get is a block's current state and its viewers online.
func (s *Service) Get(ctx context.Context, instanceID, blockID string) (*opsyncpb.EntityAnswer, *Error) {
	if !actors.ValidBlockID(blockID) {
		return nil, notFound("no block " + blockID)
	}
	res, err := s.router.Block(ctx, instanceID, blockID)
	return s.answer(res, err, blockID)
}

// Delete deletes a block: later requests answer CodeNotFound, its viewers
// get its tombstone as a last version.
func (s *Service) Delete(ctx context.Context, instanceID, blockID string) (*opsyncpb.EntityAnswer, *Error) {
	if !actors.ValidBlockID(blockID) {
		return nil, notFound("no block " + blockID)
	}
	res, err := s.router.DeleteBlock(ctx, instanceID, blockID)
	return s.answer(res, err, blockID)
}

// ByBusinessID is the block bound to a business id.
func (s *Service) ByBusinessID(ctx context.Context, instanceID, businessID string) (*opsyncpb.EntityAnswer, *Error) {
	if businessID == "" || len(businessID) > MaxBusinessID {
		return nil, invalid("business_id must be 1-128 bytes")
	}
	id := actors.BusinessBlockID(instanceID, businessID)
	res, err := s.router.Block(ctx, instanceID, id)
	if err == nil && res.Code == "" && res.Entity.BusinessId != businessID {
		return nil, notFound("no block is bound to business_id " + businessID)
	}
	return s.answer(res, err, id)
}

// Message sends a typed message to the devices of users that have the
// block open now, and answers how many it was sent to.
func (s *Service) Message(ctx context.Context, instanceID, blockID string, users []string, m *opsyncpb.TypedMessage) (int, *Error) {
	res, err := s.router.SendBlockMessage(ctx, instanceID, blockID, users, m)
	if err != nil {
		s.log.Warn("block message failed", slog.String("instance", instanceID), slog.Any("err", err))
		return 0, errSystem
	}
	if e := codeError(res.Code, res.Detail, blockID); e != nil {
		return 0, e
	}
	return int(res.Devices), nil
}

func (s *Service) answer(res *opsyncpb.EntityAnswer, err error, blockID string) (*opsyncpb.EntityAnswer, *Error) {
	if err != nil {
		s.log.Warn("block request failed", slog.String("block", blockID), slog.Any("err", err))
		return nil, errSystem
	}
	if e := codeError(res.Code, res.Detail, blockID); e != nil {
		if res.Code == actors.BlockVersionConflict {
			e.Msg += " (current version " + formatVersion(res.Entity.GetVersion()) + ")"
		}
		return nil, e
	}
	return res, nil
}

// codeError is the refusal of a block actor's code.
func codeError(code, detail, blockID string) *Error {
	switch code {
	case "":
		return nil
	case actors.BlockNotFound:
		if detail != "" {
			return notFound(detail) // says whether the block was deleted
		}
		return notFound("no block " + blockID)
	case actors.BlockVersionConflict:
		return &Error{Code: CodeVersionConflict, Status: http.StatusConflict, Msg: "version conflict: " + detail}
	}
	return errSystem
}

// Authenticate names the instance a caller's credential (the bearer of
// Authorization, or X-Opsync-Api-Key) authorises: a tenant token issued
// by IssueToken, or the instance's API key.
func (s *Service) Authenticate(ctx context.Context, credential string) (string, *Error) {
	if credential == "" {
		return "", &Error{Code: CodeTokenMissing, Status: http.StatusUnauthorized, Msg: "missing access token: send Authorization: Bearer <tenant_access_token or apiKey>"}
	}
	id, res := tenantauth.Authenticate(ctx, s.tokens, s.keys, credential)
	return id, authError(res)
}

func authError(res push.Result) *Error {
	switch res.Code {
	case "":
		return nil
	case resultcode.SystemError:
		return errSystem
	}
	return &Error{Code: CodeTokenInvalid, Status: http.StatusUnauthorized, Msg: "invalid access token: not a current tenant token or API key of an instance"}
}

// IssueToken exchanges an instance's app id and secret for a tenant token
// and its lifetime in seconds.
func (s *Service) IssueToken(ctx context.Context, appID, appSecret string) (string, int, *Error) {
	if appID == "" || appSecret == "" {
		return "", 0, invalid("app_id and app_secret are required")
	}
	t, res := s.push.Authorize(ctx, appID, push.APIKey(appSecret))
	switch {
	case res.Code == resultcode.SystemError:
		return "", 0, errSystem
	case t == nil:
		return "", 0, &Error{Code: CodeAppInvalid, Status: http.StatusBadRequest, Msg: "app_id or app_secret is not valid"}
	}
	tok, exp, err := s.tokens.Issue(t)
	if err != nil {
		return "", 0, errSystem
	}
	return tok, exp, nil
}
