// Package metrics holds opsync's Prometheus metrics and serves them.
//
// The collectors are process-wide, as Prometheus collectors usually are: a
// process runs one node (tests that run several in one process read sums).
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var (
	// Pushes counts push answers by result code (single and batch items).
	Pushes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opsync_pushes_total", Help: "Pushes answered, by result code.",
	}, []string{"code"})
	// Deliveries counts messages written to client connections.
	Deliveries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_deliveries_total", Help: "Messages delivered to client connections (first deliveries and retries).",
	})
	// HubFramesEncoded counts the client frames a node's fan-out hub
	// encoded: one per source delivery per node, whatever the number of
	// recipients on that node.
	HubFramesEncoded = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_hub_frames_encoded_total", Help: "Client frames encoded by this node's fan-out hub (one per source delivery, shared by its recipients).",
	})
	// HubRecipients counts the client actors the hub handed a frame to.
	HubRecipients = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_hub_recipients_total", Help: "Recipients the fan-out hub handed a delivery to.",
	})
	// LatePushes counts pushes a stream refused because they reached it
	// after their caller had stopped waiting.
	LatePushes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_late_pushes_total", Help: "Pushes a stream did not store because they reached it after their caller's deadline.",
	})
	// ConnWrites counts WebSocket messages written to clients: several
	// queued frames leave in one.
	ConnWrites = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_conn_writes_total", Help: "WebSocket messages written to client connections (queued deliveries are coalesced into one).",
	})
	// SendQueueBytes is what the node's client connections hold for their
	// clients: bytes delivered and not acknowledged, and queued behind
	// their windows (the node's send budget counts it).
	SendQueueBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "opsync_send_queue_bytes", Help: "Bytes the node's client connections hold for their clients (delivered and not acknowledged, or queued behind their windows).",
	})
	// SendShed counts connections closed because the node's send budget
	// was exceeded (the ones holding the most first).
	SendShed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_send_shed_total", Help: "Client connections shed (closed with 4431) to keep the node within its send budget.",
	})
	// Acks counts acknowledgements received from clients.
	Acks = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_acks_total", Help: "Message acknowledgements received from clients.",
	})
	// Retries counts redeliveries of unacknowledged messages.
	Retries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_retries_total", Help: "Redeliveries of unacknowledged messages.",
	})
	// Drops counts entries deleted after their last retry.
	Drops = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_drops_total", Help: "Entries dropped after exhausting their retries.",
	})
	// ConnectedClients is the number of open client connections.
	ConnectedClients = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "opsync_connected_clients", Help: "Open client connections.",
	})
	// JournalAppend is the latency of durable journal appends.
	JournalAppend = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "opsync_journal_append_seconds", Help: "Latency of durable journal appends (one batch, one fsync).",
		Buckets: prometheus.ExponentialBuckets(25e-6, 2, 16), // 25 µs … 0.8 s
	})
	// JournalEvents counts events appended to journals.
	JournalEvents = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_journal_events_total", Help: "Events appended to journals.",
	})
	// PushInstanceRequests counts the round trips the push service makes
	// to instance actors (push context lookups).
	PushInstanceRequests = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_push_instance_requests_total", Help: "Round trips of the push service to instance actors (push context lookups).",
	})
	// PushCache counts the push service's cache lookups: hit (no round
	// trip of its own) or miss.
	PushCache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opsync_push_cache_total", Help: "Push context cache lookups, by result (hit: answered without a round trip of its own; miss).",
	}, []string{"result"})
	// Activations counts actor activations by kind.
	Activations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opsync_actor_activations_total", Help: "Persistent actor activations (recoveries), by kind.",
	}, []string{"kind"})
	// WebAPIPushes counts the pushes each instance receives through the
	// push APIs, by API (single, global, batch: one per item). Only pushes
	// its instance authorized are counted, so that the instance label
	// takes only ids an administrator created, never what callers send:
	// at most three series per instance that receives pushes on the node.
	WebAPIPushes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opsync_webapi_pushes_total", Help: "Pushes received through /webapi/sync/{single,global,batch}, by instance and API (authorized pushes only).",
	}, []string{"instance", "api"})
)

var registry = func() *prometheus.Registry {
	r := prometheus.NewRegistry()
	PushCache.WithLabelValues("hit")
	PushCache.WithLabelValues("miss")
	r.MustRegister(Pushes, Deliveries, HubFramesEncoded, HubRecipients, ConnWrites, SendQueueBytes, SendShed, LatePushes, Acks, Retries, Drops, ConnectedClients, JournalAppend, JournalEvents, Activations, PushInstanceRequests, PushCache, WebAPIPushes,
		DiskFull, DiskFree, DiskRefusals, BlockUpdates, BlockTypedMessages, BlockViewers, BlockDeliveries, BlockDeletes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}()

// Handler serves the metrics in the Prometheus text format.
func Handler() http.Handler {
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{})
}
