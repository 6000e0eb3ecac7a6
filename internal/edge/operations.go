package edge

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// The operation log query: who changed what in an instance, and when.

// operationsWindow is the default range of an operation log query.
const operationsWindow = 7 * 24 * time.Hour

// operationsQuery answers GET …/operations?operator=&action=&bizType=&from=&to=&limit=
// (and its deprecated alias …/oplog): the rows in [from, to] (RFC 3339, a
// date, or ms since the epoch; default the last 7 days), newest first, at
// most limit (default and maximum 1000). bizType keeps the rows about that
// bizType (their target), exactly.
func (s *Server) operationsQuery(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	q := r.URL.Query()
	now := time.Now()
	to, err := ParseTimeParam(q.Get("to"), true)
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID", "to: "+err.Error())
		return
	}
	if q.Get("to") == "" {
		to = now.UnixMilli()
	}
	from, err := ParseTimeParam(q.Get("from"), false)
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID", "from: "+err.Error())
		return
	}
	if q.Get("from") == "" {
		from = time.UnixMilli(to).Add(-operationsWindow).UnixMilli()
	}
	if from > to {
		writeError(w, http.StatusBadRequest, "INVALID", "from is after to")
		return
	}
	limit := state.OperationsMaxQuery
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > state.OperationsMaxQuery {
			writeError(w, http.StatusBadRequest, "INVALID", fmt.Sprintf("limit must be 1-%d", state.OperationsMaxQuery))
			return
		}
		limit = n
	}
	operatorQ, action := q.Get("operator"), q.Get("action")
	if len(operatorQ) > maxOperatorLen || len(action) > 64 {
		writeError(w, http.StatusBadRequest, "INVALID", "operator or action too long")
		return
	}
	bizType := q.Get("bizType")
	if utf16Len(bizType) > maxBizTypeLen {
		writeError(w, http.StatusBadRequest, "INVALID", fmt.Sprintf("bizType longer than %d characters", maxBizTypeLen))
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	list, err := s.member.Operations(ctx, instance, &opsyncpb.QueryOperations{Operator: operatorQ, Action: action, BizType: bizType, From: from, To: to, Limit: uint32(limit)})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	if !list.InstanceExists {
		writeError(w, http.StatusNotFound, actors.ConfigInstanceNotFound, "no such instance")
		return
	}
	rows := make([]OperationJSON, 0, len(list.Operations))
	for _, op := range list.Operations {
		rows = append(rows, operationJSON(op))
	}
	writeJSON(w, http.StatusOK, map[string]any{"operations": rows, "from": from, "to": to, "truncated": list.Truncated})
}

// ParseTimeParam reads a time query parameter: milliseconds since the
// epoch, RFC 3339, or a date (YYYY-MM-DD, UTC; its end when endOfDay). ""
// is 0.
func ParseTimeParam(v string, endOfDay bool) (int64, error) {
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, errors.New("negative time")
		}
		return n, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UnixMilli(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		if endOfDay {
			t = t.Add(24*time.Hour - time.Millisecond)
		}
		return t.UnixMilli(), nil
	}
	return 0, fmt.Errorf("%q is neither RFC 3339, a date nor milliseconds since the epoch", v)
}
