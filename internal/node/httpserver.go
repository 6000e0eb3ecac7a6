package node

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/opsync/opsync/internal/connlimit"
	"github.com/opsync/opsync/internal/metrics"
)

// Timeouts of the HTTP server. A WebSocket is hijacked from it (which
// clears these deadlines) and keeps its own: the edge's idle timeout.
const (
	httpReadHeaderTimeout = 10 * time.Second
	// httpReadTimeout bounds reading a whole request, body included: far
	// above a 1 MiB batch at any usable speed, far below holding a
	// descriptor for a client that trickles.
	httpReadTimeout  = 30 * time.Second
	httpWriteTimeout = 30 * time.Second
	// httpIdleTimeout closes a keep-alive connection idle this long.
	httpIdleTimeout = 60 * time.Second
)

// httpServer returns the node's HTTP server on ln, within the connection
// caps: maxConns (0: from the open-file limit) in total, maxPerAddr (0:
// none) per remote address.
func httpServer(ln net.Listener, handler http.Handler, tlsConfig *tls.Config, maxConns, maxPerAddr int, logger *slog.Logger) (*http.Server, net.Listener) {
	nofile, err := raiseFileLimit()
	if err != nil {
		logger.Warn("reading the open-file limit", "err", err)
		nofile = 1024
	}
	metrics.FileDescriptorLimit.Set(float64(nofile))
	if maxConns <= 0 {
		maxConns = connlimit.DefaultMax(nofile)
	}
	metrics.HTTPConnectionsMax.Set(float64(maxConns))
	logger.Info("connection limits", "openFileLimit", nofile, "maxConns", maxConns, "maxConnsPerAddr", maxPerAddr)
	opts := connlimit.Options{Max: maxConns, MaxPerAddr: maxPerAddr, Observe: metrics.ConnObserver{}}
	if tlsConfig == nil {
		opts.Refusal = refusalAnswer
	}
	limited := connlimit.New(ln, opts)
	return &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		ReadTimeout:       httpReadTimeout,
		WriteTimeout:      httpWriteTimeout,
		IdleTimeout:       httpIdleTimeout,
		ConnState:         limited.ConnState,
	}, limited
}

// refusalAnswer is what a plain-HTTP connection over a cap reads before it
// is closed: a 503 in the admin API's error shape.
func refusalAnswer(reason string) []byte {
	body := fmt.Sprintf(`{"error":{"code":"TOO_MANY_CONNECTIONS","message":"connection cap reached (%s); retry later"}}`, reason)
	return []byte(fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
}
