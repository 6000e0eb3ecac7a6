package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// api calls a node's HTTP API, with the credentials of creds (see
// authorize).
type api struct {
	base  string
	hc    *http.Client
	creds *creds
}

// newAPI returns an API caller keeping up to conns connections open.
func newAPI(base string, cr *creds, conns int) *api {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     30 * time.Second,
	}
	return &api{base: strings.TrimRight(base, "/"), hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}, creds: cr}
}

func (a *api) close() { a.hc.CloseIdleConnections() }

func closeAPIs(as []*api) {
	for _, a := range as {
		a.close()
	}
}

// do sends body (if not nil) and decodes a JSON answer into out (if not
// nil); it returns the HTTP status.
func (a *api) do(ctx context.Context, method, path string, body []byte, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	a.authorize(req)
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: HTTP %d, answer %.200q: %w", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode, nil
}

// putBizType creates or replaces a bizType config.
func (a *api) putBizType(ctx context.Context, instance, biz string, cfg map[string]any) error {
	body, _ := json.Marshal(cfg)
	var ans json.RawMessage
	path := "/api/v1/instances/" + url.PathEscape(instance) + "/biztypes/" + url.PathEscape(biz)
	st, err := a.do(ctx, http.MethodPut, path, body, &ans)
	if err != nil {
		return err
	}
	if st != http.StatusOK {
		return fmt.Errorf("bench: PUT %s: HTTP %d %s", path, st, ans)
	}
	return nil
}

// pushAnswer is a push API answer (single, global, or one batch item).
type pushAnswer struct {
	Success bool   `json:"success"`
	Msg     string `json:"msg"`
	OplogID uint64 `json:"oplogId"`
	Detail  string `json:"detail"`
}

func (p pushAnswer) stored() bool { return p.Msg == "SUCCESS" }

// push sends one push body to the single (or, global, the global) API.
func (a *api) push(ctx context.Context, instance string, global bool, body []byte) (pushAnswer, error) {
	path := "/webapi/sync/single?instanceId=" + url.QueryEscape(instance)
	if global {
		path = "/webapi/sync/global?instanceId=" + url.QueryEscape(instance)
	}
	var ans pushAnswer
	_, err := a.do(ctx, http.MethodPost, path, body, &ans)
	return ans, err
}

// errNoBatch means the node has no batch push endpoint.
var errNoBatch = errors.New("bench: the node has no batch push API")

// pushBatch sends {"items":[...]} to the batch API; items is the JSON of
// the items, comma-separated, without brackets.
func (a *api) pushBatch(ctx context.Context, instance string, items []byte) ([]pushAnswer, error) {
	body := make([]byte, 0, len(items)+12)
	body = append(body, `{"items":[`...)
	body = append(body, items...)
	body = append(body, "]}"...)
	var ans struct {
		pushAnswer
		Error   json.RawMessage `json:"error"`
		Results []pushAnswer    `json:"results"`
	}
	st, err := a.do(ctx, http.MethodPost, "/webapi/sync/batch?instanceId="+url.QueryEscape(instance), body, &ans)
	if st == http.StatusNotFound && ans.Error != nil {
		return nil, errNoBatch // the catch-all NOT_FOUND of an older node
	}
	if err != nil {
		return nil, err
	}
	if !ans.Success {
		return nil, fmt.Errorf("bench: batch push refused: HTTP %d %s %s", st, ans.Msg, ans.Detail)
	}
	return ans.Results, nil
}

// hasBatch reports whether the node offers the batch push API.
func (a *api) hasBatch(ctx context.Context, instance string) bool {
	var ans struct {
		Msg   string          `json:"msg"`
		Error json.RawMessage `json:"error"`
	}
	st, err := a.do(ctx, http.MethodPost, "/webapi/sync/batch?instanceId="+url.QueryEscape(instance), []byte(`{"items":[]}`), &ans)
	return err == nil && st != http.StatusNotFound && ans.Error == nil
}

// appendItem appends one push body as JSON. The strings the scenarios
// use are plain ASCII, for which strconv's quoting is JSON's.
func appendItem(b []byte, biz, linkToken, msgID, payload string) []byte {
	b = append(b, `{"bizType":`...)
	b = strconv.AppendQuote(b, biz)
	if linkToken != "" {
		b = append(b, `,"linkToken":`...)
		b = strconv.AppendQuote(b, linkToken)
	}
	b = append(b, `,"thirdMsgId":`...)
	b = strconv.AppendQuote(b, msgID)
	b = append(b, `,"payload":`...)
	b = strconv.AppendQuote(b, payload)
	return append(b, '}')
}

// metrics scrapes /metrics into name{labels} -> value.
func (a *api) metrics(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: GET /metrics: HTTP %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// get answers a GET's status (0 when the node does not answer).
func (a *api) get(ctx context.Context, path string) int {
	st, _ := a.do(ctx, http.MethodGet, path, nil, nil)
	return st
}

// waitStatus polls path every interval until it answers 200 (there is no
// event to await for a process that is starting) or ctx ends.
func (a *api) waitStatus(ctx context.Context, path string, interval time.Duration) error {
	for {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		st := a.get(c, path)
		cancel()
		if st == http.StatusOK {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: %s did not answer 200: %w", path, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// JournalStats is the node's journal activity over a run, from its
// /metrics: appends (one fsync'd write each, possibly sharing an fsync
// with others), events written, and the mean append latency.
type JournalStats struct {
	Appends         int64   `json:"appends"`
	Events          int64   `json:"events"`
	EventsPerAppend float64 `json:"eventsPerAppend"`
	MeanAppendMs    float64 `json:"meanAppendMs"`
}

// journalMeter takes the nodes' journal counters at the start of a run;
// a set's are summed (each node counts the appends of the actors it runs).
type journalMeter struct {
	as                   []*api
	appends, events, sum float64
	ok                   bool
}

// journalCounters sums the journal counters of the nodes behind as.
func journalCounters(ctx context.Context, as []*api) (appends, events, sum float64, err error) {
	for _, a := range as {
		mt, err := a.metrics(ctx)
		if err != nil {
			return 0, 0, 0, err
		}
		appends += mt["opsync_journal_append_seconds_count"]
		events += mt["opsync_journal_events_total"]
		sum += mt["opsync_journal_append_seconds_sum"]
	}
	return appends, events, sum, nil
}

func startJournal(ctx context.Context, as ...*api) *journalMeter {
	m := &journalMeter{as: as}
	var err error
	m.appends, m.events, m.sum, err = journalCounters(ctx, as)
	m.ok = err == nil
	return m
}

// stop returns the activity since start (nil when /metrics is not there).
func (m *journalMeter) stop(ctx context.Context) *JournalStats {
	appends, events, sum, err := journalCounters(ctx, m.as)
	if err != nil || !m.ok {
		return nil
	}
	s := &JournalStats{Appends: int64(appends - m.appends), Events: int64(events - m.events)}
	if s.Appends > 0 {
		s.EventsPerAppend = round3(float64(s.Events) / float64(s.Appends))
		s.MeanAppendMs = round3((sum - m.sum) * 1000 / float64(s.Appends))
	}
	return s
}
