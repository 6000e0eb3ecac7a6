// Package docrest is the documents REST API's use case: request signing
// (X-CS-Timestamp, X-CS-Signature), the shapes of the service's REST v5
// resources, its limits and error codes. The edge serves it; the actors
// keep the data.
package docrest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// The signature headers of the service's REST API and webhooks.
const (
	TimestampHeader = "X-CS-Timestamp"
	SignatureHeader = "X-CS-Signature"
)

// MaxSkew is how far a request's timestamp may be from the node's clock:
// older (or newer) requests are refused as replays.
const MaxSkew = 5 * time.Minute

// SignedMessage is what a signature covers: the method in upper case, the
// path with its query string, the timestamp (ms, as sent) and the raw body.
func SignedMessage(method, pathWithQuery, timestamp string, body []byte) []byte {
	m := make([]byte, 0, len(method)+len(pathWithQuery)+len(timestamp)+len(body))
	m = append(m, strings.ToUpper(method)...)
	m = append(m, pathWithQuery...)
	m = append(m, timestamp...)
	return append(m, body...)
}

// Sign is the lowercase hex HMAC-SHA256 of message keyed with secret.
func Sign(secret, message []byte) string {
	h := hmac.New(sha256.New, secret)
	h.Write(message)
	return hex.EncodeToString(h.Sum(nil))
}

// Valid reports whether signature (hex, either case) is message's under
// secret, in constant time.
func Valid(secret, message []byte, signature string) bool {
	got, err := hex.DecodeString(signature)
	if err != nil {
		return false
	}
	h := hmac.New(sha256.New, secret)
	h.Write(message)
	return hmac.Equal(got, h.Sum(nil))
}

// Fresh checks a request's timestamp header against now: ms since the
// epoch, within MaxSkew.
func Fresh(timestamp string, now time.Time) *Error {
	ms, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || timestamp == "" {
		return unauthorized(TimestampHeader + " must be milliseconds since the epoch")
	}
	skew := now.Sub(time.UnixMilli(ms))
	if skew > MaxSkew || skew < -MaxSkew {
		return unauthorized("the request's " + TimestampHeader + " is more than 5 minutes from the server's clock")
	}
	return nil
}
