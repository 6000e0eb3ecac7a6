package metrics

import "github.com/prometheus/client_golang/prometheus"

// Block entity metrics (registered with the others in metrics.go).
var (
	// BlockUpdates counts block versions journaled (creations included).
	BlockUpdates = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_block_updates_total", Help: "Block entity versions journaled (creations and updates).",
	})
	// BlockDeletes counts blocks deleted.
	BlockDeletes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_block_deletes_total", Help: "Block entities deleted.",
	})
	// BlockTypedMessages counts typed messages sent to blocks' viewers.
	BlockTypedMessages = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsync_block_typed_messages_total", Help: "Typed messages sent to the viewers of a block (never stored).",
	})
	// BlockViewers is the number of block subscriptions (a connection
	// that has a block open) held by this node's block actors.
	BlockViewers = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "opsync_block_viewers", Help: "Connections that have a block open, counted by the block actors on this node.",
	})
	// BlockDeliveries counts what block actors sent to viewers, by kind:
	// state (a version) or typed (a typed message).
	BlockDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opsync_block_deliveries_total", Help: "Block versions and typed messages sent to viewers, by kind (state, typed).",
	}, []string{"kind"})
)
