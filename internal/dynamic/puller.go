package dynamic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/opsync/opsync/internal/egress"
	"github.com/opsync/opsync/internal/metrics"
)

// Defaults of a Puller.
const (
	// RequestTimeout bounds one attempt: the wait for a slot of the
	// callback URL's limit, the request and the answer.
	RequestTimeout = 2 * time.Second
	// DefaultRetries is how many times a failed attempt is retried (a
	// timeout, a connection error, a 5xx or 429 answer, no slot).
	DefaultRetries = 2
	// DefaultBackoff is the wait before the first retry; it doubles for
	// each one after, and up to half of it again is added at random so
	// that the viewers of a failing callback do not retry in step.
	DefaultBackoff = 200 * time.Millisecond
	// DefaultPerURL bounds the pulls in flight to one callback URL.
	DefaultPerURL = 8
)

// Config is a Puller's; zero fields take the defaults.
type Config struct {
	// AllowPrivate lets pulls reach private and loopback targets
	// (serve --card-callback-private).
	AllowPrivate bool
	// Client makes the requests: NewHTTPClient(AllowPrivate) if nil.
	Client  *http.Client
	Clock   Clock
	Timeout time.Duration
	// Retries: DefaultRetries if 0, none if negative.
	Retries int
	Backoff time.Duration
	PerURL  int
	// Jitter is the random part added to a backoff of d (tests make it
	// 0); by default up to d/2.
	Jitter func(d time.Duration) time.Duration
	Logger *slog.Logger
}

// Puller is the node's: it runs the Viewers of all connections, and its
// per-URL limit holds across them.
type Puller struct {
	cfg    Config
	limits *urlLimits
}

// NewPuller is a Puller with cfg's settings.
func NewPuller(cfg Config) *Puller {
	if cfg.Client == nil {
		cfg.Client = NewHTTPClient(cfg.AllowPrivate)
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = RequestTimeout
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = DefaultRetries
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.PerURL <= 0 {
		cfg.PerURL = DefaultPerURL
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(d time.Duration) time.Duration { return rand.N(d/2 + 1) }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Puller{cfg: cfg, limits: newURLLimits(cfg.PerURL)}
}

// Target is where a card's pulls go and how they are signed.
type Target struct {
	CallbackURL string
	APISecret   string
}

// PullError is why a pull failed: its Kind is a fixed word (the metric's
// outcome, what a log line says); its text is what the viewer is told. It
// never holds anything the callback answered.
type PullError struct {
	Kind     string
	Attempts int
	retry    bool // another attempt may fare better
	msg      string
}

func (e *PullError) Error() string {
	if e.Attempts > 1 {
		return fmt.Sprintf("%s (%d attempts)", e.msg, e.Attempts)
	}
	return e.msg
}

// The kinds of PullError (and the pull metric's outcomes, with "ok").
const (
	KindTimeout     = "timeout"
	KindBusy        = "busy"
	KindUnreachable = "unreachable"
	KindRefused     = "refused"
	KindStatus      = "status"
	KindBadAnswer   = "bad_answer"
)

// errStopped: the pull's viewer stopped; its outcome is dropped.
var errStopped = errors.New("dynamic: viewer stopped")

// pull asks t for req's sources, retrying what may pass, until ctx ends.
// Its items are by source id; a source without an item is the caller's to
// report (ErrMissingSource).
func (p *Puller) pull(ctx context.Context, t Target, req Request) (map[string]Item, error) {
	start := time.Now()
	body := req.Encode()
	for attempt := 0; ; attempt++ {
		items, pe := p.attempt(ctx, t, body)
		if ctx.Err() != nil {
			return nil, errStopped
		}
		if pe == nil {
			metrics.DynamicPulls.WithLabelValues("ok").Inc()
			metrics.DynamicPullSeconds.Observe(time.Since(start).Seconds())
			return items, nil
		}
		if !pe.retry || attempt == p.cfg.Retries {
			pe.Attempts = attempt + 1
			metrics.DynamicPulls.WithLabelValues(pe.Kind).Inc()
			metrics.DynamicPullSeconds.Observe(time.Since(start).Seconds())
			p.cfg.Logger.Info("card dynamic data pull failed", slog.String("outTrackId", req.OutTrackID), slog.String("kind", pe.Kind), slog.Int("attempts", pe.Attempts))
			return nil, pe
		}
		d := p.cfg.Backoff << attempt
		if !p.sleep(ctx, d+p.cfg.Jitter(d)) {
			return nil, errStopped
		}
	}
}

// sleep waits d on the clock, or until ctx ends (false).
func (p *Puller) sleep(ctx context.Context, d time.Duration) bool {
	t := p.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

// attempt makes one request within the timeout, the wait for a slot of
// the URL included.
func (p *Puller) attempt(ctx context.Context, t Target, body []byte) (map[string]Item, *PullError) {
	actx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	release, err := p.limits.acquire(actx, t.CallbackURL)
	if err != nil {
		return nil, &PullError{Kind: KindBusy, retry: true, msg: fmt.Sprintf("the callback had no free slot within %s (at most %d pulls in flight to one callback URL)", p.cfg.Timeout, p.cfg.PerURL)}
	}
	defer release()
	r, err := http.NewRequestWithContext(actx, http.MethodPost, t.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return nil, &PullError{Kind: KindRefused, msg: "the callback URL is not usable"}
	}
	ts := p.cfg.Clock.Now().UnixMilli()
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	r.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	r.Header.Set(HeaderSignature, Sign(t.APISecret, ts))
	resp, err := p.cfg.Client.Do(r)
	if err != nil {
		return nil, p.failed(actx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		return nil, &PullError{Kind: KindStatus, retry: retry, msg: fmt.Sprintf("the callback answered HTTP %d", resp.StatusCode)}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes+1))
	if err != nil {
		return nil, p.failed(actx, err)
	}
	if len(b) > MaxAnswerBytes {
		return nil, &PullError{Kind: KindBadAnswer, msg: fmt.Sprintf("the callback's answer is larger than %d bytes", MaxAnswerBytes)}
	}
	items, err := ParseAnswer(b)
	if err != nil {
		return nil, &PullError{Kind: KindBadAnswer, msg: err.Error()}
	}
	return items, nil
}

// failed names a request's failure. Net errors are not quoted: they name
// addresses, which are not the viewer's business.
func (p *Puller) failed(actx context.Context, err error) *PullError {
	switch {
	case isTargetRefused(err):
		return &PullError{Kind: KindRefused, msg: "the callback's address is private, loopback or link-local, which this node does not call"}
	case errors.Is(actx.Err(), context.DeadlineExceeded):
		return &PullError{Kind: KindTimeout, retry: true, msg: fmt.Sprintf("the callback did not answer within %s", p.cfg.Timeout)}
	}
	return &PullError{Kind: KindUnreachable, retry: true, msg: "the callback could not be reached"}
}

// NewHTTPClient is the client pulls use: egress's rule for tenant-named
// targets, with the pulls' timeout and per-URL concurrency.
func NewHTTPClient(allowPrivate bool) *http.Client {
	return egress.NewClient(allowPrivate, RequestTimeout, DefaultPerURL)
}

// isTargetRefused reports whether err is a dial egress refused.
func isTargetRefused(err error) bool { return errors.Is(err, egress.ErrTargetRefused) }
