package docrest

import (
	"net/http"

	"github.com/opsync/opsync/internal/state"
)

// Error is a refused REST request: its HTTP status and the body
// {"message": …, "trace_id": …, "explanation": code} the service answers.
type Error struct {
	Status int
	Code   string
	Msg    string
}

func (e *Error) Error() string { return e.Code + ": " + e.Msg }

// Codes of refusals (the "explanation" of an error answer).
const (
	CodeUnauthorized = "unauthorized"
	CodeBadRequest   = "bad-request"
	CodeNotFound     = "not-found"
	CodeForbidden    = "forbidden"
	CodeConflict     = "conflict"
	CodeTooLarge     = "payload-too-large"
	CodeUnavailable  = "service-unavailable"
)

func unauthorized(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Msg: msg}
}

// BadRequest is a request the API cannot take as sent.
func BadRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Msg: msg}
}

// NotFound is an unknown id (in this document and environment).
func NotFound(msg string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Msg: msg}
}

// AnswerError maps an actor's refusal (DocDataAnswer.code) to the REST
// answer; nil for success.
func AnswerError(code, detail string) *Error {
	switch code {
	case "":
		return nil
	case state.DocNotFound:
		return NotFound(detail)
	case state.DocForbidden:
		return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Msg: detail}
	case state.DocInvalid:
		return BadRequest(detail)
	case state.DocConflict, state.DocTooMany:
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Msg: detail}
	}
	return Unavailable(detail)
}

// Unavailable is a request the cluster could not serve now.
func Unavailable(detail string) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Msg: detail}
}

// Unauthorized is a request without a valid signature.
func Unauthorized(msg string) *Error { return unauthorized(msg) }
