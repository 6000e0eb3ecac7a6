package client

import (
	"errors"
	"fmt"
)

// Errors returned by the client's methods.
var (
	ErrClosed         = errors.New("opsync client: closed")
	ErrInvalidBizType = errors.New("opsync client: a bizType must be 1-30 characters of A-Z, a-z, 0-9, '-' and '_'")
	// ErrNotDelivered is returned by ReportMsgReceived for a message this
	// client did not deliver (or delivered to another user).
	ErrNotDelivered = errors.New("opsync client: reported message was not delivered to this client")

	errNilCallback = errors.New("opsync client: RegisterBiz needs a callback")
)

// WebSocket close codes of the client protocol (see wire.proto).
const (
	CodeBadFrame        = 4400
	CodeUnauthorized    = 4401
	CodeForbidden       = 4403
	CodeUnknownInstance = 4404
	CodeConnectTimeout  = 4408
	CodeProtocolError   = 4409
	// CodeRateLimited: the client sent control frames (RegisterBiz,
	// UnregisterBiz, Open, Close, Ping) faster than the server allows; it
	// reconnects after its backoff.
	CodeRateLimited = 4430
	// CodeShed: the server shed the connection to stay within its memory
	// budget for clients (this one held the most); it reconnects after its
	// backoff and resumes from its sync points.
	CodeShed     = 4431
	CodeInternal = 4500
)

// ProtocolError is a connection ended by the server with an Error frame or
// a close code of the client protocol.
type ProtocolError struct {
	Code   int
	Reason string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("opsync: server closed the connection: %d %s", e.Code, e.Reason)
}

// Fatal reports whether the client stops reconnecting after this error:
// the server refused the client itself, not the moment.
func (e *ProtocolError) Fatal() bool {
	switch e.Code {
	case CodeBadFrame, CodeUnauthorized, CodeForbidden, CodeUnknownInstance, CodeProtocolError:
		return true
	}
	return false
}

// IsFatal reports whether err (as passed to Options.OnError) made the
// client stop connecting. It connects again on the next AppToForeground
// or UpdateUserInfo.
func IsFatal(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe) && pe.Fatal()
}
