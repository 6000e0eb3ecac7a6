package metrics

import "github.com/prometheus/client_golang/prometheus"

// The HTTP server's connections (internal/connlimit).
var (
	HTTPConnections = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "opsync_http_connections", Help: "Open TCP connections of the HTTP / WebSocket server.",
	})
	HTTPConnectionsMax = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "opsync_http_connections_max", Help: "The cap on open TCP connections of the HTTP / WebSocket server.",
	})
	HTTPConnectionsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opsync_http_connections_refused_total", Help: "Connections refused at a cap, by cap (total, per_address).",
	}, []string{"reason"})
	HTTPIdleClosed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_http_idle_closed_total", Help: "Idle keep-alive connections closed to make room at the total cap.",
	})
	FileDescriptorLimit = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "opsync_file_descriptor_limit", Help: "The process's open file limit after the node raised it as far as allowed.",
	})
)

// ConnObserver reports a connlimit.Listener's events as metrics.
type ConnObserver struct{}

func (ConnObserver) Open(n int)            { HTTPConnections.Set(float64(n)) }
func (ConnObserver) Refused(reason string) { HTTPConnectionsRefused.WithLabelValues(reason).Inc() }
func (ConnObserver) IdleClosed()           { HTTPIdleClosed.Inc() }

func init() {
	HTTPConnectionsRefused.WithLabelValues("total")
	HTTPConnectionsRefused.WithLabelValues("per_address")
	registry.MustRegister(HTTPConnections, HTTPConnectionsMax, HTTPConnectionsRefused, HTTPIdleClosed, FileDescriptorLimit)
}
