package edge

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"unicode"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/internal/consistency"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Headers of opsync's authentication.
const (
	// APIKeyHeader carries an instance's API key on the server push APIs.
	APIKeyHeader = "X-Opsync-Api-Key"
	// OperatorHeader names who makes an admin change, for the operation
	// log (default "admin").
	OperatorHeader = "X-Opsync-Operator"
	maxOperatorLen = 64
)

// adminPrefix is the path of the admin API, which needs the admin token.
const adminPrefix = "/api/v1/"

// adminAuthorized checks the admin token of a request to the admin API:
// "Authorization: Bearer TOKEN". Without a configured token nothing is
// authorized.
func (s *Server) adminAuthorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return auth.Equal(strings.TrimSpace(token), s.opts.AdminToken)
}

func writeUnauthorized(w http.ResponseWriter, message string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="opsync admin"`)
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", message)
}

// operator is who makes an admin change: the X-Opsync-Operator header, or
// "admin". ok is false (and the request answered) for an unusable header.
func operator(w http.ResponseWriter, r *http.Request) (string, bool) {
	op := strings.TrimSpace(r.Header.Get(OperatorHeader))
	if op == "" {
		return actors.DefaultOperator, true
	}
	if len(op) > maxOperatorLen || strings.IndexFunc(op, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0 {
		writeError(w, http.StatusBadRequest, "INVALID", OperatorHeader+" must be at most 64 printable characters")
		return "", false
	}
	return op, true
}

// clientGrant is what a connecting client may receive: the outcome of the
// user-consistency check, and what its instance withholds from it.
type clientGrant struct {
	// checked: the validation endpoint was asked about the session; valid
	// is its answer (true when nothing was asked).
	checked, valid bool
	// deviceStreamWithheld: the connection may not read its device's
	// stream; withheld lists the bizTypes of Connect it will not receive.
	deviceStreamWithheld bool
	withheld             []string
	// docRoles: the token's roles on documents (docRolesSet: it has an
	// auth.collaboration claim).
	docRoles    map[string]string
	docRolesSet bool
}

// authorizeClient checks a connecting client with its instance, then asks
// the validation endpoint about its session when the instance says the
// user-consistency check applies (never for a device-only connection: the
// check is of user-target bizTypes, which it does not receive). It returns
// what the client may receive, or the protocol error that closes the
// connection.
func (s *Server) authorizeClient(ctx context.Context, c *opsyncpb.Connect) (clientGrant, error) {
	rctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	q := &opsyncpb.AuthorizeClient{UserId: c.UserId, DeviceId: c.DeviceId, SessionId: c.SessionId, Token: c.Token}
	for _, b := range c.BizTypes {
		q.BizTypes = append(q.BizTypes, b.BizType)
	}
	res, err := s.member.AuthorizeClient(rctx, c.InstanceId, q)
	switch {
	case err != nil:
		s.opts.Logger.Warn("client authorization failed", slog.String("instance", c.InstanceId), slog.Any("err", err))
		return clientGrant{}, protocolErr(CloseInternal, "instance lookup failed")
	case !res.InstanceExists:
		return clientGrant{}, protocolErr(CloseUnknownInstance, "unknown instance %q", c.InstanceId)
	case res.InternalError != "":
		s.opts.Logger.Error("client authorization failed", slog.String("instance", c.InstanceId), slog.String("err", res.InternalError))
		return clientGrant{}, protocolErr(CloseInternal, "%s", res.InternalError)
	case !res.Authorized:
		return clientGrant{}, protocolErr(CloseUnauthorized, "unauthorized: %s", res.Reason)
	}
	g := clientGrant{valid: true, deviceStreamWithheld: res.DeviceStreamWithheld, withheld: res.WithheldBizTypes,
		docRoles: res.DocumentRoles, docRolesSet: res.DocumentRolesSet}
	if res.ValidationUrl == "" || s.opts.Validator == nil || c.UserId == "" {
		return g, nil
	}
	g.checked, g.valid = true, false
	if c.SessionId == "" || len(c.SessionId) > maxValidatedSession {
		return g, nil
	}
	out, verr := s.opts.Validator.Validate(ctx, res.ValidationUrl, consistency.Request{InstanceID: c.InstanceId, UserID: c.UserId, SessionID: c.SessionId})
	if verr != nil {
		s.opts.Logger.Warn("user-consistency check failed: session treated as not valid",
			slog.String("instance", c.InstanceId), slog.String("user", c.UserId), slog.Any("err", verr))
		return g, nil
	}
	g.valid = out.Valid
	return g, nil
}

// maxValidatedSession is the source's limit of the sessionId the
// validation endpoint is asked about.
const maxValidatedSession = 100
