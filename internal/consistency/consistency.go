// Package consistency asks a tenant's user-consistency validation endpoint
// whether a client's session is the user's (source document §5.4): an HTTP
// POST of {"instanceId","userId","sessionId"} answered by
// {"success":true,"returnCode":"OK","result":{"sid":…,"valid":true|false}}.
//
// The edge asks it when a client connects to an instance whose validation
// endpoint is set, whose signature switch is on and that has bizTypes with
// the check on; the client actor then withholds those bizTypes from a
// session that is not valid.
package consistency

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Request is what the endpoint is asked about.
type Request struct {
	InstanceID string `json:"instanceId"`
	UserID     string `json:"userId"`
	SessionID  string `json:"sessionId"`
}

// Result is the endpoint's answer.
type Result struct {
	// Valid: the endpoint answered success and result.valid true.
	Valid      bool
	ReturnCode string
	Sid        string
}

// Validator checks sessions against an instance's validation endpoint.
// An error means the endpoint could not answer (its caller treats the
// session as not valid).
type Validator interface {
	Validate(ctx context.Context, endpoint string, r Request) (Result, error)
}

// Defaults of the HTTP validator and of the cache.
const (
	DefaultTimeout    = 2 * time.Second
	DefaultTTL        = 5 * time.Minute
	DefaultFailureTTL = 10 * time.Second
	DefaultMaxEntries = 10000
	// OperationType is the source's fixed operation of the endpoint, sent
	// in the Operation-Type header for gateways that route on it.
	OperationType = "com.antcloud.session.validate"
	maxAnswer     = 64 << 10
)

// HTTP is the Validator that POSTs to the endpoint.
type HTTP struct {
	// Client makes the calls (default: a client without redirects).
	Client *http.Client
	// Timeout bounds one call (default DefaultTimeout).
	Timeout time.Duration
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Validate implements Validator.
func (h *HTTP) Validate(ctx context.Context, endpoint string, r Request) (Result, error) {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	client := h.Client
	if client == nil {
		client = noRedirects
	}
	if endpoint == "" {
		return Result{}, ErrNoEndpoint
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := json.Marshal(r)
	if err != nil {
		return Result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Operation-Type", OperationType)
	resp, err := client.Do(req)
	if err != nil {
		return Result{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return Result{}, err
	}
	if resp.StatusCode/100 != 2 {
		return Result{}, fmt.Errorf("consistency: endpoint answered HTTP %d", resp.StatusCode)
	}
	return ParseAnswer(raw)
}

// answer is the endpoint's JSON. The source's table names returnCode, its
// example resultCode and wraps the answer in "response", with "true"
// strings for booleans and result possibly a JSON string: all are read.
type answer struct {
	Success    flexBool        `json:"success"`
	ReturnCode string          `json:"returnCode"`
	ResultCode string          `json:"resultCode"`
	Result     json.RawMessage `json:"result"`
	Response   *answer         `json:"response"`
}

type result struct {
	Sid   string   `json:"sid"`
	Valid flexBool `json:"valid"`
}

// flexBool is a JSON boolean or the strings "true" / "false".
type flexBool bool

func (b *flexBool) UnmarshalJSON(d []byte) error {
	switch strings.ToLower(strings.Trim(string(d), `"`)) {
	case "true":
		*b = true
	case "false", "null", "":
		*b = false
	default:
		return fmt.Errorf("not a boolean: %s", d)
	}
	return nil
}

// ParseAnswer reads an endpoint's answer: valid only when success and
// result.valid are both true.
func ParseAnswer(raw []byte) (Result, error) {
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return Result{}, fmt.Errorf("consistency: answer: %w", err)
	}
	if a.Response != nil && len(a.Result) == 0 {
		a = *a.Response
	}
	res := Result{ReturnCode: a.ReturnCode}
	if res.ReturnCode == "" {
		res.ReturnCode = a.ResultCode
	}
	if len(a.Result) == 0 || string(a.Result) == "null" {
		return res, nil
	}
	body := []byte(a.Result)
	var s string
	if json.Unmarshal(body, &s) == nil { // result as a JSON string
		body = []byte(s)
	}
	var r result
	if err := json.Unmarshal(body, &r); err != nil {
		return res, fmt.Errorf("consistency: answer result: %w", err)
	}
	res.Sid = r.Sid
	res.Valid = bool(a.Success) && bool(r.Valid)
	return res, nil
}

// Cached remembers a Validator's answers per (endpoint, instance, user,
// session) for TTL, and its failures for FailureTTL, keeping at most
// MaxEntries of them; concurrent asks of one key make one call.
type Cached struct {
	Inner      Validator
	TTL        time.Duration
	FailureTTL time.Duration
	MaxEntries int
	Now        func() time.Time

	mu       sync.Mutex
	entries  map[cacheKey]cacheEntry
	inflight map[cacheKey]*call
}

type cacheKey struct{ endpoint, instance, user, session string }

type cacheEntry struct {
	res     Result
	err     error
	expires time.Time
}

type call struct {
	done chan struct{}
	res  Result
	err  error
}

// NewCached returns a cache of inner's answers with the default bounds.
func NewCached(inner Validator) *Cached {
	return &Cached{Inner: inner, TTL: DefaultTTL, FailureTTL: DefaultFailureTTL, MaxEntries: DefaultMaxEntries}
}

// Validate implements Validator.
func (c *Cached) Validate(ctx context.Context, endpoint string, r Request) (Result, error) {
	k := cacheKey{endpoint, r.InstanceID, r.UserID, r.SessionID}
	now := c.now()
	c.mu.Lock()
	if c.entries == nil {
		c.entries, c.inflight = map[cacheKey]cacheEntry{}, map[cacheKey]*call{}
	}
	if e, ok := c.entries[k]; ok && now.Before(e.expires) {
		c.mu.Unlock()
		return e.res, e.err
	}
	if cl, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.res, cl.err
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[k] = cl
	c.mu.Unlock()

	// The call is not bound to one caller's context: others may wait on it.
	cl.res, cl.err = c.Inner.Validate(context.WithoutCancel(ctx), endpoint, r)
	ttl := c.TTL
	if cl.err != nil {
		ttl = c.FailureTTL
	}
	c.mu.Lock()
	delete(c.inflight, k)
	if ttl > 0 {
		c.makeRoom(now)
		c.entries[k] = cacheEntry{res: cl.res, err: cl.err, expires: c.now().Add(ttl)}
	}
	c.mu.Unlock()
	close(cl.done)
	return cl.res, cl.err
}

// makeRoom drops expired entries, then arbitrary ones, until one more
// fits. c.mu is held.
func (c *Cached) makeRoom(now time.Time) {
	max := c.MaxEntries
	if max <= 0 {
		max = DefaultMaxEntries
	}
	if len(c.entries) < max {
		return
	}
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < max {
			break
		}
		delete(c.entries, k)
	}
}

// Len is the number of cached answers.
func (c *Cached) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *Cached) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// ErrNoEndpoint is returned for an empty endpoint.
var ErrNoEndpoint = errors.New("consistency: no validation endpoint")
