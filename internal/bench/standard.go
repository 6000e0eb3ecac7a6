package bench

// Row is one scenario run of a benchmark report.
type Row struct {
	Name string
	// Args follow `opsync bench`.
	Args []string
	// Show are the report values the table gives.
	Show []Metric
	// Targets are the targets for the row: reported, not asserted.
	Targets []Target
}

// Metric is a value of a scenario's JSON report, by dotted path
// ("latencyMs.p99", "restarts.0.readyzMs").
type Metric struct {
	Label string
	Path  string
	Unit  string
}

// Target is a bound a metric should meet.
type Target struct {
	Metric
	AtLeast bool // else at most
	Value   float64
}

func atLeast(label, path, unit string, v float64) Target {
	return Target{Metric: Metric{label, path, unit}, AtLeast: true, Value: v}
}

func atMost(label, path, unit string, v float64) Target {
	return Target{Metric: Metric{label, path, unit}, Value: v}
}

var (
	latencyShow = func(path, what string) []Metric {
		return []Metric{{what + " p50", path + ".p50", "ms"}, {"p99", path + ".p99", "ms"}, {"p99.9", path + ".p999", "ms"}}
	}
	fanoutTargets = []Target{atLeast("deliveries", "deliveriesPerSec", "/s", 200000), atMost("p99", "latencyMs.p99", "ms", 50)}
)

// nodesRows are a row run on one spawned node and on a set of three
// (--nodes 3, replicated journal), side by side; args start with the
// scenario and --spawn.
func nodesRows(name string, args []string, show []Metric) []Row {
	var out []Row
	for _, n := range []struct{ nodes, label string }{{"1", "1 node"}, {"3", "3 nodes (replicated journal)"}} {
		a := append(append(append([]string{}, args[:2]...), "--nodes", n.nodes), args[2:]...)
		out = append(out, Row{Name: name + ", " + n.label, Args: a,
			Show: append(append([]Metric{}, show...), Metric{"server CPU", "serverCpu.cores", "cores"})})
	}
	return out
}

// Standard is the standard set `opsync bench report` (make bench) runs.
func Standard() []Row {
	rows := []Row{
		{Name: "push: durable single pushes, 64 callers",
			Args:    []string{"push", "--spawn", "--count", "200000", "--concurrency", "64", "--users", "1000"},
			Show:    append([]Metric{{"pushes", "pushesPerSec", "/s"}}, latencyShow("latencyMs", "ack")...),
			Targets: []Target{atLeast("pushes", "pushesPerSec", "/s", 30000), atMost("p99", "latencyMs.p99", "ms", 10)}},
		{Name: "push: durable single pushes, 8 callers",
			Args:    []string{"push", "--spawn", "--count", "50000", "--concurrency", "8", "--users", "1000"},
			Show:    append([]Metric{{"pushes", "pushesPerSec", "/s"}}, latencyShow("latencyMs", "ack")...),
			Targets: []Target{atLeast("pushes", "pushesPerSec", "/s", 30000), atMost("p99", "latencyMs.p99", "ms", 10)}},
		{Name: "push-batch: 1000 items per request over 1000 users (1 entry per stream per request), 4 in flight",
			Args:    []string{"push-batch", "--spawn", "--count", "300000", "--batch", "1000", "--concurrency", "4", "--users", "1000"},
			Show:    append([]Metric{{"entries", "entriesPerSec", "/s"}}, latencyShow("latencyMs", "request")...),
			Targets: []Target{atLeast("entries", "entriesPerSec", "/s", 300000)}},
		{Name: "push-batch: 1000 items per request over 10 users (100 entries per stream per request), 4 in flight",
			Args:    []string{"push-batch", "--spawn", "--count", "1000000", "--batch", "1000", "--concurrency", "4", "--users", "10"},
			Show:    append([]Metric{{"entries", "entriesPerSec", "/s"}}, latencyShow("latencyMs", "request")...),
			Targets: []Target{atLeast("entries", "entriesPerSec", "/s", 300000)}},
		{Name: "fanout: 10,000 clients, per-user pushes (batch API)",
			Args:    []string{"fanout", "--spawn", "--clients", "10000", "--mode", "user", "--pushes", "20", "--rate", "0"},
			Show:    append([]Metric{{"deliveries", "deliveriesPerSec", "/s"}}, latencyShow("latencyMs", "push→receive")...),
			Targets: fanoutTargets},
		{Name: "fanout: 10,000 clients, per-user pushes paced at 2,500 deliveries/s (half the rate above)",
			Args:    []string{"fanout", "--spawn", "--clients", "10000", "--mode", "user", "--pushes", "5", "--rate", "2500"},
			Show:    append([]Metric{{"deliveries", "deliveriesPerSec", "/s"}}, latencyShow("latencyMs", "push→receive")...),
			Targets: fanoutTargets},
		{Name: "fanout: 10,000 clients, global pushes offered at 200,000 deliveries/s",
			Args:    []string{"fanout", "--spawn", "--clients", "10000", "--mode", "global", "--pushes", "10", "--rate", "200000"},
			Show:    append([]Metric{{"deliveries", "deliveriesPerSec", "/s"}}, latencyShow("latencyMs", "push→receive")...),
			Targets: fanoutTargets},
		{Name: "conns: 10,000 idle clients",
			Args: []string{"conns", "--spawn", "--clients", "10000"},
			Show: []Metric{{"RSS per client", "rssKiBPerClient", "KiB"}, {"heap per client", "heapBytesPerClient", "B"},
				{"goroutines per client", "goroutinesPerClient", ""}},
			Targets: []Target{atMost("RSS per client", "rssKiBPerClient", "KiB", 10)}},
		{Name: "catchup: reconnect to a 100,000-entry backlog",
			Args:    []string{"catchup", "--spawn", "--backlog", "100000"},
			Show:    []Metric{{"entries (median of 3)", "entriesPerSec", "/s"}, {"first delivery", "firstDeliveryMs", "ms"}},
			Targets: []Target{atLeast("entries", "entriesPerSec", "/s", 200000)}},
		{Name: "recovery: restart with 1,000,000 entries over 100,000 streams",
			Args: []string{"recovery", "--spawn", "--entries", "1000000", "--streams", "100000"},
			Show: []Metric{{"after SIGTERM: HTTP", "restarts.0.healthzMs", "ms"}, {"ready", "restarts.0.readyzMs", "ms"},
				{"stream delivered", "restarts.0.streamDeliveredMs", "ms"}, {"after kill -9: HTTP", "restarts.1.healthzMs", "ms"},
				{"ready", "restarts.1.readyzMs", "ms"}, {"stream delivered", "restarts.1.streamDeliveredMs", "ms"}}},
	}
	// 1 node vs 3, sized to run in well under a minute each here.
	pushShow := append([]Metric{{"pushes", "pushesPerSec", "/s"}}, latencyShow("latencyMs", "ack")...)
	rows = append(rows, nodesRows("push 1 vs 3 nodes: 8 callers",
		[]string{"push", "--spawn", "--count", "10000", "--concurrency", "8", "--users", "1000"}, pushShow)...)
	rows = append(rows, nodesRows("push 1 vs 3 nodes: 64 callers",
		[]string{"push", "--spawn", "--count", "30000", "--concurrency", "64", "--users", "1000"}, pushShow)...)
	rows = append(rows, nodesRows("fanout 1 vs 3 nodes: 1,000 clients, per-user pushes (batch API), clients and pushes spread over the nodes",
		[]string{"fanout", "--spawn", "--clients", "1000", "--mode", "user", "--pushes", "20", "--rate", "0"},
		append([]Metric{{"deliveries", "deliveriesPerSec", "/s"}}, latencyShow("latencyMs", "push→receive")...))...)
	return rows
}
