// Package egress is the rule for where this node sends requests a tenant
// names (card callbacks, document webhooks): a registered URL must be
// http(s) with a public host, and the address actually dialled, after
// name resolution, must be public too, unless the operator allows
// private targets (serve --card-callback-private, --webhook-private).
// Without it a tenant could make the node call its own admin API, etcd or
// a cloud metadata endpoint.
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// MaxURLLen bounds a target URL.
const MaxURLLen = 2048

// ErrTargetRefused is the error of a dial to an address the target rule
// refuses (wrapped with the address).
var ErrTargetRefused = errors.New("target refused: private, loopback, link-local or unspecified address")

// CheckURL checks a target URL when it is registered: http or https, a
// host, no user info; a host that is an IP address, or a name of the
// loopback (localhost), must be public unless allowPrivate. A name is not
// resolved here: what it resolves to when a request dials it is checked
// then (DialControl), so that a name that later resolves to a private
// address (DNS rebinding) is refused too.
func CheckURL(raw string, allowPrivate bool) error {
	if len(raw) > MaxURLLen {
		return fmt.Errorf("URL longer than %d bytes", MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("URL does not parse")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("URL must be http or https")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("URL has no host")
	case u.User != nil:
		return errors.New("URL must not carry user info")
	case u.Fragment != "":
		return errors.New("URL must not carry a fragment")
	}
	if allowPrivate {
		return nil
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return ErrTargetRefused
	}
	if ip, err := netip.ParseAddr(host); err == nil && !PublicAddr(ip) {
		return ErrTargetRefused
	}
	return nil
}

// sharedSpace is 100.64.0.0/10, the carriers' NAT space (RFC 6598): not
// routable on the internet, as private as RFC 1918's.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// PublicAddr reports whether a request may target ip without allowing
// private targets: not loopback, private (RFC 1918, RFC 4193,
// RFC 6598), link-local, unspecified, multicast or broadcast. An IPv4
// address mapped into IPv6 counts as its IPv4 self.
func PublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid(), ip.IsLoopback(), ip.IsPrivate(), ip.IsUnspecified(),
		ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast(), ip.IsMulticast(),
		sharedSpace.Contains(ip), ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return false
	case ip.Is4() && ip.As4()[0] == 0: // 0.0.0.0/8: "this network"
		return false
	}
	return true
}

// DialControl is a net.Dialer Control function that refuses to connect to
// an address PublicAddr refuses, unless allowPrivate. It runs on the
// address actually dialled, after name resolution, so no name can lead a
// request where the rule forbids.
func DialControl(allowPrivate bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrTargetRefused, address)
		}
		if !PublicAddr(ap.Addr()) {
			return fmt.Errorf("%w: %s", ErrTargetRefused, address)
		}
		return nil
	}
}

// NewClient is an HTTP client for tenant-named targets: it dials through
// DialControl, takes no proxy from the environment (a proxy would dial for
// it, unchecked) and follows no redirect (an answer must come from the
// registered URL; a redirect is a failed request). timeout bounds dialing
// and the TLS handshake; perHost is how many idle connections it keeps
// per host.
func NewClient(allowPrivate bool, timeout time.Duration, perHost int) *http.Client {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: DialControl(allowPrivate)}
	t := &http.Transport{
		DialContext:         d.DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: perHost,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: timeout,
	}
	return &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
