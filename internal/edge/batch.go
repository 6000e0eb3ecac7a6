package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/resultcode"
	"github.com/opsync/opsync/proto/opsyncpb"
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
// request. Items of one stream are written in one journal append, items
// of different streams concurrently, so a batch costs a few fsyncs.
func (s *Server) handleBatchPush(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, code, detail string) {
		writeJSON(w, status, batchAnswer{Msg: code, Detail: detail})
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		refuse(http.StatusMethodNotAllowed, resultcode.ArgsInvalid, "use POST")
		return
	}
	instanceID := r.URL.Query().Get("instanceId")
	if instanceID == "" {
		refuse(http.StatusOK, resultcode.ArgsIsNull, "instanceId query parameter is required")
		return
	}
	if !ValidInstanceID(instanceID) {
		refuse(http.StatusBadRequest, resultcode.ArgsInvalid, "invalid instanceId")
		return
	}
	if code := s.authorizePush(r, instanceID); code != "" {
		refuse(pushRefusalStatus(code), code, "")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBatchBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			refuse(http.StatusOK, resultcode.PayloadLong, fmt.Sprintf("request body over %d bytes", maxBatchBody))
			return
		}
		refuse(http.StatusBadRequest, resultcode.ArgsInvalid, "reading body: "+err.Error())
		return
	}
	var req struct {
		Items []json.RawMessage `json:"items"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil || dec.More() {
		refuse(http.StatusBadRequest, resultcode.ArgsInvalid, `body must be {"items":[push, ...]}`)
		return
	}
	switch {
	case len(req.Items) == 0:
		refuse(http.StatusOK, resultcode.ArgsIsNull, "items is empty")
		return
	case len(req.Items) > maxBatchItems:
		refuse(http.StatusBadRequest, resultcode.ArgsInvalid, fmt.Sprintf("at most %d items", maxBatchItems))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	results := make([]pushAnswer, len(req.Items))
	groups, code := s.groupBatch(ctx, instanceID, req.Items, results)
	if code != "" {
		refuse(http.StatusNotFound, code, "")
		return
	}
	now := time.Now().UnixMilli()
	var wg sync.WaitGroup
	for g, idx := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			entries := make([]*opsyncpb.Entry, len(idx))
			for i, k := range idx {
				entries[i] = g.reqs[k].EntryUnder(g.config, now)
			}
			res, err := s.member.PushBatch(ctx, instanceID, g.target, g.linkToken, entries)
			for i, k := range idx {
				if err != nil {
					results[k] = pushAnswer{Msg: resultcode.SystemError}
					continue
				}
				rc := res.Results[i]
				results[k] = pushAnswer{Success: resultcode.Successful(rc.Code), Msg: rc.Code, OplogID: rc.OplogId}
			}
			if err != nil {
				s.opts.Logger.Warn("batch push failed", slog.String("instance", instanceID), slog.Any("err", err))
			}
		}()
	}
	wg.Wait()
	for _, a := range results {
		metrics.Pushes.WithLabelValues(a.Msg).Inc()
	}
	writeJSON(w, http.StatusOK, batchAnswer{Success: true, Msg: resultcode.Success, Results: results})
}

// batchGroup is the stream a batch item goes to.
type batchGroup struct {
	config    *opsyncpb.BizTypeConfig
	target    opsyncpb.Target
	linkToken string
	reqs      map[int]*PushRequest
}

type streamKey struct {
	target    opsyncpb.Target
	linkToken string
}

// groupBatch checks every item, answering refused ones in results, and
// groups the accepted ones by stream (indices in item order). It returns a
// code when the whole request is refused (an unknown instance).
func (s *Server) groupBatch(ctx context.Context, instanceID string, items []json.RawMessage, results []pushAnswer) (map[*batchGroup][]int, string) {
	configs := map[string]*opsyncpb.BizTypeConfig{}
	refusals := map[string]string{}
	byStream := map[streamKey]*batchGroup{}
	groups := map[*batchGroup][]int{}
	for i, raw := range items {
		req, err := ParsePushBody(raw, true)
		if err != nil {
			code, detail := pushCode(err)
			results[i] = pushAnswer{Msg: code, Detail: detail}
			continue
		}
		cfg, seen := configs[req.BizType]
		refusal := refusals[req.BizType]
		if !seen && refusal == "" {
			cfg, refusal = s.pushConfig(ctx, instanceID, req.BizType)
			if refusal == resultcode.InstanceNotFound {
				return nil, refusal
			}
			if refusal == "" && cfg.Scope == opsyncpb.Scope_SCOPE_GLOBAL {
				refusal = resultcode.NotSupportGlobal
			}
			if refusal == "" && !cfg.Persistent {
				refusal = resultcode.ArgsInvalid // transient entries go one by one, to whoever is online
			}
			configs[req.BizType], refusals[req.BizType] = cfg, refusal
		}
		if refusal != "" {
			results[i] = pushAnswer{Msg: refusal}
			continue
		}
		k := streamKey{cfg.Target, req.LinkToken}
		g := byStream[k]
		if g == nil {
			g = &batchGroup{config: cfg, target: k.target, linkToken: k.linkToken, reqs: map[int]*PushRequest{}}
			byStream[k] = g
		}
		g.reqs[i] = req
		groups[g] = append(groups[g], i)
	}
	return groups, ""
}
