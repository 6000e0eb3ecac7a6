package metrics

import "github.com/prometheus/client_golang/prometheus"

// RouteMemberLeft counts requests to actors whose member left the set
// while they waited (or just before they were sent), by what the route
// did: "rerouted" (sent again to the identity's new activation: a read,
// or a request that had not left this node) or "failed" (a command that
// may have reached the dead member, answered unavailable at once instead
// of after the request timeout).
var RouteMemberLeft = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "opsync_route_member_left_total", Help: "Requests whose actor's member left the set while they waited, by what the route did (rerouted, failed).",
}, []string{"action"})

// Registered apart from the list in metrics.go, so that collectors added
// by separate changes do not touch one line.
func init() { registry.MustRegister(RouteMemberLeft) }
