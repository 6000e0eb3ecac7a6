// Package block is the block entity use case (SPEC §2): the service's
// block-v2 open API over the block actors. The edge parses and answers
// HTTP; this package checks requests, authenticates callers (an
// instance's API key, or a tenant token issued for it) and routes to the
// block of (instance, block id) through the cluster.
package block

import "net/http"

// Error is a refusal of the block API: its code (the answer's "code"),
// its HTTP status and a message saying why (the answer's "msg").
type Error struct {
	Code   int
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// The block API's codes. The auth ones are the service's own (a backend
// that handles them keeps working); the 177000x are opsync's. Codes are
// only ever appended.
const (
	CodeOK = 0
	// CodeInvalidParam: a field is missing, malformed or too long.
	CodeInvalidParam = 1770001
	// CodeNotFound: no such block.
	CodeNotFound = 1770002
	// CodeVersionConflict: the version is not greater than the block's.
	CodeVersionConflict = 1770003
	// CodeBodyTooLarge: the request body is over MaxBody.
	CodeBodyTooLarge = 1770004
	// CodeSystemError: opsync failed (nothing was stored); retry.
	CodeSystemError = 1770005
	// CodeAppInvalid: the tenant token request's app_id or app_secret is
	// wrong (the service's code for an invalid app secret).
	CodeAppInvalid = 10014
	// CodeTokenMissing: no Authorization header (the service's code).
	CodeTokenMissing = 99991661
	// CodeTokenInvalid: the token or key is not valid (the service's).
	CodeTokenInvalid = 99991663
)

func invalid(msg string) *Error {
	return &Error{Code: CodeInvalidParam, Status: http.StatusBadRequest, Msg: msg}
}

func notFound(msg string) *Error {
	return &Error{Code: CodeNotFound, Status: http.StatusNotFound, Msg: msg}
}

var errSystem = &Error{Code: CodeSystemError, Status: http.StatusInternalServerError, Msg: "system error: nothing was stored, try again"}
