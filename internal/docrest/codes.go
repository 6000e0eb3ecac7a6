package docrest

import "net/http"

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
