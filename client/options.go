package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of Options.
const (
	DefaultMinBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultPingInterval   = 20 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
)

// wsPath is the client endpoint of a node; Subprotocol its WebSocket
// subprotocol.
const (
	wsPath      = "/webapi/sync/ws"
	Subprotocol = "opsync.v1"
)

// Options configure a Client. Server and InstanceID are required.
type Options struct {
	// Server is the node's base URL, http(s)://host:port (ws(s):// works
	// too); the client connects to its /webapi/sync/ws.
	Server string
	// Servers are more nodes of the same set (base URLs like Server).
	// When a connection ends or cannot be made, the client tries the next
	// one in turn, so that it resumes on a surviving node when its node
	// dies.
	Servers    []string
	InstanceID string
	// StateFile keeps the device id and the sync points across runs; ""
	// keeps them in memory only.
	StateFile string
	// DeviceID identifies this installation. When empty it is read from
	// StateFile, or generated at random (and saved there).
	DeviceID   string
	OSType     string // iOS, Android, ... as checked by pushes' osType filter
	AppVersion string // dotted, as checked by pushes' app version range

	// Token is an HS256 JWT signed with the instance's client secret (sub:
	// the userId, iid: the instance, exp, optional did: the device id),
	// sent at connect; instances with requireToken accept no client
	// without one. SetToken replaces it.
	Token string

	// Reconnection waits a random time in [d/2, d], d doubling from
	// MinBackoff up to MaxBackoff, and starts over once connected.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// PingInterval is how often the client pings; a connection on which
	// nothing arrives for PongTimeout (default two intervals) is dead.
	PingInterval time.Duration
	PongTimeout  time.Duration
	// ConnectTimeout bounds the dial and the wait for the server's
	// Connected; WriteTimeout one frame write.
	ConnectTimeout time.Duration
	WriteTimeout   time.Duration

	// HTTPClient dials the WebSocket (default http.DefaultClient, or one
	// using TLSConfig); HTTPHeader is added to the handshake request.
	HTTPClient *http.Client
	TLSConfig  *tls.Config
	HTTPHeader http.Header

	// OnError receives every error that ends a connection or a connection
	// attempt, and failures to save StateFile. After an error for which
	// IsFatal is true the client stops connecting.
	OnError func(error)
	// OnStateChange is called when the client becomes connected (after the
	// server's Connected) and when it loses the connection.
	OnStateChange func(connected bool)
}

// withDefaults checks o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	if o.InstanceID == "" {
		return o, errors.New("opsync client: InstanceID is required")
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PongTimeout <= 0 {
		o.PongTimeout = 2 * o.PingInterval
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.HTTPClient == nil && o.TLSConfig != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = o.TLSConfig
		o.HTTPClient = &http.Client{Transport: tr}
	}
	return o, nil
}

// endpoint turns the server's base URL into its WebSocket endpoint.
func endpoint(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("opsync client: server URL: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("opsync client: server URL %q: want http(s)://host:port", server)
	}
	if u.Host == "" {
		return "", fmt.Errorf("opsync client: server URL %q has no host", server)
	}
	u.Path = strings.TrimRight(u.Path, "/") + wsPath
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u.String(), nil
}
