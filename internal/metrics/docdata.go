package metrics

import "github.com/prometheus/client_golang/prometheus"

// Documents' permanent data and webhook metrics: labels are fixed sets
// (no environment, document or URL).
var (
	// DocChanges counts changes of documents' permanent data journaled.
	DocChanges = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_doc_changes_total", Help: "Changes of documents' permanent data (comments, threads, suggestions, revisions, users) journaled.",
	})
	// DocWebhookDeliveries counts webhook POSTs by result (ok, failed).
	DocWebhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opsync_doc_webhook_deliveries_total", Help: "Document webhook POSTs, by result (ok: 2xx, failed: anything else).",
	}, []string{"result"})
	// DocWebhookQueued is the events the outboxes active on this node
	// still keep for some webhook.
	DocWebhookQueued = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "opsync_doc_webhook_queued", Help: "Webhook events kept by the outboxes active on this node until every webhook received them.",
	})
)

func init() {
	DocWebhookDeliveries.WithLabelValues("ok")
	DocWebhookDeliveries.WithLabelValues("failed")
	registry.MustRegister(DocChanges, DocWebhookDeliveries, DocWebhookQueued)
}
