package card

import (
	"errors"
	"net/http"

	"github.com/opsync/opsync/internal/egress"
)

// The rule for callback URLs is internal/egress's (one rule for
// registration and pulls): http or https, and a target on the public
// network unless the node allows private ones (serve
// --card-callback-private), since opsync POSTs to the URL and a backend
// could otherwise make it reach the node's own network. At registration
// an IP literal or a loopback name is checked; a host name is checked at
// each pull on the address actually dialled (DNS may change, and a node
// without DNS, or a record not yet published, must not block a
// registration the service itself accepts).

// CheckCallbackURL refuses a URL opsync must not call.
func CheckCallbackURL(raw string, allowPrivate bool) *Error {
	err := egress.CheckURL(raw, allowPrivate)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, egress.ErrTargetRefused):
		return urlInvalid("callbackUrl's host is a private, loopback or link-local address: start the node with --card-callback-private to allow it")
	default:
		return urlInvalid("callbackUrl: " + err.Error())
	}
}

func urlInvalid(msg string) *Error {
	return &Error{Code: CodeCallbackURLInvalid, Status: http.StatusBadRequest, Msg: msg}
}
