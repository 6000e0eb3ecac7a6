package card

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"
)

// The rule for callback URLs: http or https, and a target on the public
// network unless the node allows private ones (serve
// --card-callback-private): opsync POSTs to the URL, so a backend could
// otherwise make it reach the node's own network. Registration checks it
// here; each pull checks it again (DNS may change), in internal/dynamic.

// lookupTimeout bounds the name resolution of a callback host.
const lookupTimeout = 2 * time.Second

// CheckCallbackURL refuses a URL opsync must not call.
func CheckCallbackURL(ctx context.Context, raw string, allowPrivate bool) *Error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
		return urlInvalid("callbackUrl must be an http:// or https:// URL with a host (and no user info)")
	}
	if allowPrivate {
		return nil
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		defer cancel()
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil || len(ips) == 0 {
			return urlInvalid("callbackUrl's host " + host + " does not resolve")
		}
		addrs = ips
	}
	for _, a := range addrs {
		if !PublicAddr(a) {
			return urlInvalid("callbackUrl's host " + host + " is a private, loopback or link-local address: start the node with --card-callback-private to allow it")
		}
	}
	return nil
}

// PublicAddr reports whether a is an address on the public network: not
// loopback, private, link-local, unspecified, multicast or CGNAT.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsUnspecified() ||
		a.IsMulticast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	return !cgnat.Contains(a)
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func urlInvalid(msg string) *Error {
	return &Error{Code: CodeCallbackURLInvalid, Status: http.StatusBadRequest, Msg: msg}
}
