package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/resultcode"
)

// Limits of the batch push API.
const (
	maxBatchItems = 1000
	maxBatchBody  = 8 << 20
)

// batchAnswer is the batch push API's answer: the request's own outcome,
// then one single-push answer per item, in item order.
type batchAnswer struct {
	Success bool         `json:"success"`
	Msg     string       `json:"msg"`
	Detail  string       `json:"detail,omitempty"`
	Results []pushAnswer `json:"results,omitempty"`
}

// handleBatchPush is opsync's batch push: many single pushes in one
// request. Each item is parsed here and answered as a single push would
// be; the push service writes the items of one stream in one journal
// append, different streams concurrently, so a batch costs a few fsyncs.
func (s *Server) handleBatchPush(w http.ResponseWriter, r *http.Request) {
	strict := s.opts.StrictPushStatus
	refuse := func(code, detail string) {
		writeJSON(w, pushStatus(code, strict), batchAnswer{Msg: code, Detail: detail})
	}
	if r.Method != http.MethodPost {
		refuseMethod(w, strict, batchAnswer{Msg: resultcode.ArgsInvalid, Detail: "use POST"})
		return
	}
	instanceID := r.URL.Query().Get("instanceId")
	if instanceID == "" {
		refuse(resultcode.ArgsIsNull, "instanceId query parameter is required")
		return
	}
	if !ValidInstanceID(instanceID) {
		refuse(resultcode.ArgsInvalid, "invalid instanceId")
		return
	}
	tenant, refused := s.authorizePush(r, instanceID)
	if tenant == nil {
		refuse(refused.Code, refused.Detail)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBatchBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			refuse(resultcode.PayloadLong, fmt.Sprintf("request body over %d bytes", maxBatchBody))
			return
		}
		refuse(resultcode.ArgsInvalid, "reading body: "+err.Error())
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		refuse(resultcode.ArgsIsNull, `empty body: {"items":[push, ...]} is required`)
		return
	}
	var req struct {
		Items []json.RawMessage `json:"items"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil || dec.More() {
		refuse(resultcode.ArgsInvalid, `body must be {"items":[push, ...]}`)
		return
	}
	switch {
	case len(req.Items) == 0:
		refuse(resultcode.ArgsIsNull, "items is empty")
		return
	case len(req.Items) > maxBatchItems:
		refuse(resultcode.ArgsInvalid, fmt.Sprintf("at most %d items", maxBatchItems))
		return
	}
	metrics.WebAPIPushes.WithLabelValues(instanceID, apiBatch).Add(float64(len(req.Items)))
	results := make([]pushAnswer, len(req.Items))
	items := make([]*PushRequest, len(req.Items))
	reqs := make([]*push.Request, len(req.Items)) // nil: refused here
	for i, raw := range req.Items {
		item, err := ParsePushBody(raw, true)
		if err != nil {
			code, detail := pushCode(err)
			results[i] = pushAnswer{Msg: code, Detail: detail}
			continue
		}
		pr := item.Request(push.Specified)
		items[i], reqs[i] = item, &pr
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	batch := tenant.Batch(ctx, reqs)
	for i, res := range batch {
		if reqs[i] != nil {
			results[i] = pushAnswer{Success: res.Success(), Msg: res.Code, OplogID: res.OplogID, Detail: res.Detail}
		}
	}
	s.recordAPIPushes(ctx, r, tenant, apiBatch, items, batch)
	for _, a := range results {
		metrics.Pushes.WithLabelValues(a.Msg).Inc()
	}
	writeJSON(w, http.StatusOK, batchAnswer{Success: true, Msg: resultcode.Success, Results: results})
}
