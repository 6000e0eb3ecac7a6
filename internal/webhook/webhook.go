// Package webhook delivers documents' webhook events: the body the
// service sends ({event, environment_id, payload, sent_at} and the event's
// id), signed like REST requests (X-CS-Timestamp, X-CS-Signature over
// POST + the URL's path and query + timestamp + body), and the backoff
// between attempts while the endpoint does not answer 2xx.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/opsync/opsync/internal/docrest"
	"github.com/opsync/opsync/internal/egress"
)

// Timeout bounds one POST.
const Timeout = 10 * time.Second

// Body is the JSON an event is POSTed as.
func Body(eventID, event, environmentID, payload string, sentAt time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": eventID, "event": event, "environment_id": environmentID,
		"payload": json.RawMessage(payload), "sent_at": sentAt.UTC().Format("2006-01-02T15:04:05.000Z"),
	})
	return b
}

// Sender posts events under egress's rule for tenant-named targets: a
// webhook URL must be public, checked when it is set (CheckURL) and again
// on the address each POST dials, unless the node allows private targets
// (serve --webhook-private). The zero of *Sender (nil) refuses them.
type Sender struct {
	allowPrivate bool
	client       *http.Client
}

// NewSender returns a Sender; allowPrivate lets webhooks reach private,
// loopback and link-local addresses.
func NewSender(allowPrivate bool) *Sender {
	return &Sender{allowPrivate: allowPrivate, client: egress.NewClient(allowPrivate, Timeout, 4)}
}

var refusingPrivate = NewSender(false)

func (s *Sender) get() *Sender {
	if s == nil {
		return refusingPrivate
	}
	return s
}

// CheckURL checks a webhook URL when it is set: http or https, a host,
// public unless private targets are allowed.
func (s *Sender) CheckURL(raw string) error {
	if err := egress.CheckURL(raw, s.get().allowPrivate); err != nil {
		if errors.Is(err, egress.ErrTargetRefused) {
			return fmt.Errorf("webhook url %s: %w (a node started with --webhook-private allows it)", raw, err)
		}
		return fmt.Errorf("webhook url: %w", err)
	}
	return nil
}

// Post sends body to target signed with secret at now; an answer other
// than 2xx is an error.
func (s *Sender) Post(ctx context.Context, target string, secret, body []byte, now time.Time) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "opsync-webhooks")
	req.Header.Set(docrest.TimestampHeader, ts)
	req.Header.Set(docrest.SignatureHeader, docrest.Sign(secret, docrest.SignedMessage(http.MethodPost, u.RequestURI(), ts, body)))
	resp, err := s.get().client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// Backoff is the wait before attempt n+1 after n failed ones: from
// 500 ms, doubling, at most Max.
func Backoff(failed int) time.Duration {
	d := 500 * time.Millisecond
	for i := 1; i < failed && d < Max; i++ {
		d *= 2
	}
	return min(d, Max)
}

// Max is the longest wait between attempts.
const Max = 5 * time.Second
