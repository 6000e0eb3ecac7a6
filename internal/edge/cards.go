package edge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/opsync/opsync/internal/card"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// The card API (README "Cards"), shaped after the service's card open
// API: JSON answers {"success":true,"result":…}; a refusal
// {"success":false,"code":"param.…","message":"…","requestid":"…"} with
// HTTP 400 (401 bad credential, 413, 500, 507).

// cardTokenHeader is the service's header for the access token (the
// instance's API key is taken there too, and in X-Opsync-Api-Key).
const cardTokenHeader = "x-acs-dingtalk-access-token"

func (s *Server) routeCards() {
	s.mux.HandleFunc("POST /v1.0/oauth2/accessToken", s.handleCardToken)
	s.mux.HandleFunc("POST /v1.0/card/instances", s.cardCall(s.createCard))
	s.mux.HandleFunc("PUT /v1.0/card/instances", s.cardCall(s.updateCard))
	s.mux.HandleFunc("GET /v1.0/card/instances", s.cardCall(s.getCard))
	s.mux.HandleFunc("POST /v1.0/card/instances/deliver", s.cardCall(s.deliverCard))
	s.mux.HandleFunc("POST /v1.0/card/instances/createAndDeliver", s.cardCall(s.createAndDeliverCard))
	s.mux.HandleFunc("POST /v1.0/card/callbacks/register", s.cardCall(s.registerCardCallback))
	// Every other /v1.0/ request (a method of the service opsync does not
	// serve, or a wrong HTTP method on a served path) answers in the
	// family's shape: the SDK reads code and message only from that.
	s.mux.HandleFunc("/v1.0/", func(w http.ResponseWriter, r *http.Request) {
		writeCardError(w, &card.Error{Code: card.CodeNotSupported, Status: http.StatusNotFound,
			Msg: "opsync does not serve " + r.Method + " " + r.URL.Path})
	})
}

// cardHandler serves one card API call for an authenticated instance: it
// answers the result, or a refusal.
type cardHandler func(ctx context.Context, r *http.Request, instanceID string, body []byte) (any, *card.Error)

// cardCall authenticates the caller, reads the body within card.MaxBody
// and answers.
func (s *Server) cardCall(h cardHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
		defer cancel()
		instanceID, cerr := s.cards.Authenticate(ctx, cardCredential(r))
		if cerr != nil {
			writeCardError(w, cerr)
			return
		}
		body, cerr := readCardBody(w, r)
		if cerr != nil {
			writeCardError(w, cerr)
			return
		}
		result, cerr := h(ctx, r, instanceID, body)
		if cerr != nil {
			writeCardError(w, cerr)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "result": result})
	}
}

func readCardBody(w http.ResponseWriter, r *http.Request) ([]byte, *card.Error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, card.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, card.TooLarge()
		}
		return nil, &card.Error{Code: card.CodeInvalid, Status: http.StatusBadRequest, Msg: "the body could not be read"}
	}
	return body, nil
}

// cardCredential is the caller's access token or API key.
func cardCredential(r *http.Request) string {
	if t := strings.TrimSpace(r.Header.Get(cardTokenHeader)); t != "" {
		return t
	}
	return strings.TrimSpace(r.Header.Get(APIKeyHeader))
}

// writeCardError answers a refusal as the service does (the SDK reads
// code, message and requestid from a JSON object).
func writeCardError(w http.ResponseWriter, e *card.Error) {
	var id [8]byte
	_, _ = rand.Read(id[:])
	writeJSON(w, e.Status, map[string]any{"success": false, "code": e.Code, "message": e.Msg, "requestid": hex.EncodeToString(id[:])})
}

// admitCardWrite refuses a write while the disk is below its reserve.
func (s *Server) admitCardWrite() *card.Error {
	if s.opts.Space == nil {
		return nil
	}
	if err := s.opts.Space.AdmitGrowth(); err != nil {
		return &card.Error{Code: card.CodeDiskFull, Status: http.StatusInsufficientStorage, Msg: err.Error()}
	}
	return nil
}

func (s *Server) createCard(ctx context.Context, _ *http.Request, instanceID string, body []byte) (any, *card.Error) {
	c, cerr := card.ParseCreate(body)
	if cerr != nil {
		return nil, cerr
	}
	if cerr := s.admitCardWrite(); cerr != nil {
		return nil, cerr
	}
	if cerr := s.cards.Create(ctx, instanceID, c); cerr != nil {
		return nil, cerr
	}
	return c.OutTrackId, nil
}

func (s *Server) updateCard(ctx context.Context, _ *http.Request, instanceID string, body []byte) (any, *card.Error) {
	id, u, cerr := card.ParseUpdate(body)
	if cerr != nil {
		return nil, cerr
	}
	if cerr := s.admitCardWrite(); cerr != nil {
		return nil, cerr
	}
	if cerr := s.cards.Update(ctx, instanceID, id, u); cerr != nil {
		return nil, cerr
	}
	return true, nil
}

func (s *Server) deliverCard(ctx context.Context, _ *http.Request, instanceID string, body []byte) (any, *card.Error) {
	r, spaces, cerr := card.ParseDeliver(body)
	if cerr != nil {
		return nil, cerr
	}
	if cerr := s.admitCardWrite(); cerr != nil {
		return nil, cerr
	}
	return s.cards.Deliver(ctx, instanceID, r.OutTrackID, spaces)
}

func (s *Server) createAndDeliverCard(ctx context.Context, _ *http.Request, instanceID string, body []byte) (any, *card.Error) {
	c, spaces, cerr := card.ParseCreateAndDeliver(body)
	if cerr != nil {
		return nil, cerr
	}
	if cerr := s.admitCardWrite(); cerr != nil {
		return nil, cerr
	}
	results, cerr := s.cards.CreateAndDeliver(ctx, instanceID, c, spaces)
	if cerr != nil {
		return nil, cerr
	}
	return map[string]any{"outTrackId": c.OutTrackId, "deliverResults": results}, nil
}

func (s *Server) registerCardCallback(ctx context.Context, _ *http.Request, instanceID string, body []byte) (any, *card.Error) {
	r, cerr := card.ParseRegister(body)
	if cerr != nil {
		return nil, cerr
	}
	if cerr := s.admitCardWrite(); cerr != nil {
		return nil, cerr
	}
	secret, url, cerr := s.cards.RegisterCallback(ctx, instanceID, r)
	if cerr != nil {
		return nil, cerr
	}
	return map[string]any{"apiSecret": secret, "callbackUrl": url}, nil
}

// getCard is opsync's addition: a card's stored data, recipients,
// dynamic config and version.
func (s *Server) getCard(ctx context.Context, r *http.Request, instanceID string, _ []byte) (any, *card.Error) {
	res, cerr := s.cards.Get(ctx, instanceID, r.URL.Query().Get("outTrackId"))
	if cerr != nil {
		return nil, cerr
	}
	return cardJSON(res.Card, res.Viewers), nil
}

// cardJSON is a card as GET answers it, in the service's field names.
func cardJSON(c *opsyncpb.Card, viewers uint32) map[string]any {
	private := map[string]any{}
	recipients := map[string]bool{}
	if c.UserId != "" {
		recipients[c.UserId] = true
	}
	for u, p := range c.PrivateData {
		private[u] = map[string]any{"cardParamMap": nonNil(p.GetCardParamMap())}
		recipients[u] = true
	}
	for _, u := range c.Delivered {
		recipients[u] = true
	}
	list := make([]string, 0, len(recipients))
	for u := range recipients {
		list = append(list, u)
	}
	sort.Strings(list)
	sources := make([]map[string]any, 0, len(c.DynamicSources))
	for _, src := range c.DynamicSources {
		pc := map[string]any{"pullStrategy": src.PullStrategy}
		if src.PullStrategy == "INTERVAL" {
			pc["interval"], pc["timeUnit"] = src.Interval, src.TimeUnit
		}
		sources = append(sources, map[string]any{"dynamicDataSourceId": src.SourceId, "pullConfig": pc})
	}
	return map[string]any{
		"outTrackId": c.OutTrackId, "cardTemplateId": c.CardTemplateId, "userId": c.UserId, "userIdType": c.UserIdType,
		"cardData": map[string]any{"cardParamMap": nonNil(c.PublicData)}, "privateData": private,
		"recipients": list, "delivered": nonNilList(c.Delivered), "callbackRouteKey": c.CallbackRouteKey,
		"openDynamicDataConfig": map[string]any{"dynamicDataSourceConfigs": sources},
		"version":               c.Version, "viewers": viewers, "createdAt": c.CreatedAt, "updatedAt": c.UpdatedAt,
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// handleCardToken serves the service's oauth2 accessToken request:
// {appKey: the instance id, appSecret: its API key}.
func (s *Server) handleCardToken(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	body, cerr := readCardBody(w, r)
	if cerr != nil {
		writeCardError(w, cerr)
		return
	}
	var req struct {
		AppKey    string `json:"appKey"`
		AppSecret string `json:"appSecret"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeCardError(w, &card.Error{Code: card.CodeInvalid, Status: http.StatusBadRequest, Msg: "the body must be JSON {\"appKey\":…,\"appSecret\":…}"})
		return
	}
	tok, expire, cerr := s.cards.IssueToken(ctx, req.AppKey, req.AppSecret)
	if cerr != nil {
		writeCardError(w, cerr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"accessToken": tok, "expireIn": expire})
}
