package metrics

import "github.com/prometheus/client_golang/prometheus"

// Card metrics. Their labels are fixed sets: no card id, user or data
// (dynamic data never reaches a metric).
var (
	// CardUpdates counts card changes journaled (creations, public and
	// private updates).
	CardUpdates = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_card_updates_total", Help: "Card changes journaled (creations and updates).",
	})
	// CardViewers is the number of card subscriptions (a recipient's
	// connection that has a card open) held by this node's card actors.
	CardViewers = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "opsync_card_viewers", Help: "Connections that have a card open, counted by the card actors on this node.",
	})
	// CardViews counts card views sent to viewers (one per viewer).
	CardViews = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_card_views_total", Help: "Card views sent to viewers.",
	})
	// CardDeliveries counts deliveries of cards to users' streams, by
	// result (ok, failed).
	CardDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opsync_card_deliveries_total", Help: "Card deliveries to users' streams (OPSYNC_CARD entries), by result (ok, failed).",
	}, []string{"result"})
)

func init() {
	CardDeliveries.WithLabelValues("ok")
	CardDeliveries.WithLabelValues("failed")
	registry.MustRegister(CardUpdates, CardViewers, CardViews, CardDeliveries)
}
