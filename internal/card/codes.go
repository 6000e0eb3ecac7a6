// Package card is the interactive card use case (SPEC §3, issue 14): the
// service's card open API (createCard, updateCard, deliverCard,
// createAndDeliver, registerCallback) over the card actors, deliveries
// through users' streams, and the plan the edge pulls a viewer's dynamic
// data by. The edge parses and answers HTTP; this package checks
// requests, authenticates callers (an instance's API key, or an access
// token issued for it) and routes through the cluster.
package card

import "net/http"

// Error is a refusal of the card API: its code (the answer's "code", a
// string as the service's), its HTTP status and a message saying why.
type Error struct {
	Code   string
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// The card API's codes (README "Cards"). The param.* and auth ones are
// the service's own spellings; codes are only ever appended.
const (
	// CodeInvalid: malformed JSON, a wrong type, a missing required
	// field, an over-long value.
	CodeInvalid = "param.invalid"
	// CodeAlreadyExists: a card with this outTrackId exists.
	CodeAlreadyExists = "param.cardAlreadyExist"
	// CodeNotExist: no card with this outTrackId.
	CodeNotExist = "param.cardNotExist"
	// CodeIntervalInvalid: an INTERVAL pull below MinPullInterval.
	CodeIntervalInvalid = "param.dynamicDataPullIntervalInvalid"
	// CodeRouteKeyExists: the callbackRouteKey is registered and the
	// request did not set forceUpdate.
	CodeRouteKeyExists = "param.callbackRouteKeyExist"
	// CodeCallbackURLInvalid: not http(s), or a private target.
	CodeCallbackURLInvalid = "param.callbackUrlInvalid"
	// CodeCallbackNotRegistered: a card's callbackRouteKey has no
	// registration (the edge's dynamic pulls; never an API answer).
	CodeCallbackNotRegistered = "param.callbackRouteKeyNotExist"
	// CodeAuth: no credential, or not a current token or API key.
	CodeAuth = "InvalidAuthentication"
	// CodeSystem: opsync failed (nothing was stored); retry.
	CodeSystem = "system.error"
	// CodeDiskFull: the node's disk is below its reserve.
	CodeDiskFull = "system.diskFull"
	// CodeNotSupported: a /v1.0/ method or path of the service opsync
	// does not serve (appendSpace, streamingUpdate, the …WithDelegate
	// twins), answered in the family's shape so the SDK reads the code.
	CodeNotSupported = "system.notSupported"
)

func invalid(msg string) *Error {
	return &Error{Code: CodeInvalid, Status: http.StatusBadRequest, Msg: msg}
}

func notExist(outTrackID string) *Error {
	return &Error{Code: CodeNotExist, Status: http.StatusBadRequest, Msg: "no card with outTrackId " + outTrackID}
}

// ErrSystem answers a failure of opsync's.
var ErrSystem = &Error{Code: CodeSystem, Status: http.StatusInternalServerError, Msg: "system error: nothing was stored, try again"}

// ErrAuth answers a caller without a valid credential.
var ErrAuth = &Error{Code: CodeAuth, Status: http.StatusUnauthorized,
	Msg: "missing or invalid access token: send x-acs-dingtalk-access-token: <accessToken or the instance's API key>"}
