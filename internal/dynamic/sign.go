package dynamic

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// The headers that sign a callback request.
const (
	HeaderTimestamp = "x-ddpaas-signature-timestamp"
	HeaderSignature = "x-ddpaas-signature"
)

// Sign is the signature of a callback request made at timestampMS (unix
// milliseconds): Base64(HMAC-SHA256(apiSecret, the timestamp as decimal
// text)). The callback's owner computes the same to know the request is
// opsync's and recent (it may refuse old timestamps).
func Sign(apiSecret string, timestampMS int64) string {
	m := hmac.New(sha256.New, []byte(apiSecret))
	m.Write([]byte(strconv.FormatInt(timestampMS, 10)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports whether signature is Sign(apiSecret, timestamp) for the
// timestamp header's text (the check a callback owner makes; tests use it).
func Verify(apiSecret, timestamp, signature string) bool {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || strconv.FormatInt(ts, 10) != timestamp {
		return false
	}
	return hmac.Equal([]byte(Sign(apiSecret, ts)), []byte(signature))
}
