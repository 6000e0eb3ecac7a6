package edge

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/resultcode"
)

// The admin console's push ("send data").

// adminPush is the console's "send data": one push body (with linkToken
// for a specified-scope bizType, without for a global one), answered as
// the push APIs answer it, with the admin API's HTTP statuses. A push
// that reached its stream is recorded in the operation log as CREATE_PUSH
// with its fields and result; one the push service refused first is not.
func (s *Server) adminPush(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	op, ok := operator(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushBody))
	if err != nil {
		answerPush(w, true, resultcode.PayloadLong, "request body too large", 0)
		return
	}
	var peek struct {
		LinkToken json.RawMessage `json:"linkToken"`
	}
	// A body with a linkToken is a specified-scope push (which then needs
	// one); without, a global push.
	single := json.Unmarshal(body, &peek) != nil || len(peek.LinkToken) > 0
	req, err := ParsePushBody(body, single)
	if err != nil {
		code, detail := pushCode(err)
		answerPush(w, true, code, detail, 0)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res := s.push.Push(ctx, instance, push.Admin, req.Request(push.ByLinkToken))
	if res.Routed {
		s.recordPushes(ctx, instance, pushOperations(op, nil, []*PushRequest{req}, []push.Result{res}))
	}
	answerResult(w, true, res)
}
