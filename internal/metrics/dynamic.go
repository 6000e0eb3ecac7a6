package metrics

import "github.com/prometheus/client_golang/prometheus"

// Card dynamic-data pulls (internal/dynamic). Their labels are fixed
// words: no dynamic data, card or URL ever becomes a label.
var (
	// DynamicPulls counts pulls of cards' dynamic data (one per callback
	// request with its retries) by outcome: ok, timeout, busy (no slot of
	// the callback URL's limit within the timeout), unreachable, refused
	// (a target the rule forbids), status (not a 2xx answer), bad_answer.
	DynamicPulls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opsync_card_dynamic_pulls_total", Help: "Pulls of cards' dynamic data from their callbacks (retries included in one pull), by outcome (ok, timeout, busy, unreachable, refused, status, bad_answer).",
	}, []string{"outcome"})
	// DynamicPullSeconds is the latency of pulls, from the first attempt
	// to the outcome (retries and backoffs included).
	DynamicPullSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "opsync_card_dynamic_pull_seconds", Help: "Latency of pulls of cards' dynamic data, from the first attempt to the outcome (retries and backoffs included).",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1 ms … 8 s
	})
)

func init() { registry.MustRegister(DynamicPulls, DynamicPullSeconds) }
