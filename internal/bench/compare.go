package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// CompareFanoutConfig configures compare-fanout: the fanout run Fanout
// against opsync and against its Peer, alternately (opsync, peer, opsync,
// peer, …), Rounds runs of each, every run on a freshly spawned server
// (--spawn is implied, --server does not apply).
type CompareFanoutConfig struct {
	Fanout FanoutConfig
	Rounds int
	// JSON prints the report as JSON rather than as tables.
	JSON bool
}

// CompareRun is one run of compare-fanout.
type CompareRun struct {
	Round  int           `json:"round"`
	Server string        `json:"server"`
	Report *FanoutReport `json:"report,omitempty"`
	Error  string        `json:"error,omitempty"`
}

// Spread is the median, minimum and maximum of a metric over runs.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// CompareSide summarises one server's runs: those that ended with a report
// (FailedRuns of them lost deliveries or had errors).
type CompareSide struct {
	Server           string `json:"server"`
	Runs             int    `json:"runs"`
	FailedRuns       int    `json:"failedRuns"`
	DeliveriesPerSec Spread `json:"deliveriesPerSec"`
	P99Ms            Spread `json:"p99Ms"`
	CPUPerDeliveryUs Spread `json:"serverCpuPerDeliveryUs"`
	RSSMiB           Spread `json:"serverRssMiB"`
}

// CompareRatio is opsync's median over the peer's, per metric (0: not
// measured).
type CompareRatio struct {
	DeliveriesPerSec float64 `json:"deliveriesPerSec"`
	P99Ms            float64 `json:"p99Ms"`
	CPUPerDeliveryUs float64 `json:"serverCpuPerDeliveryUs"`
	RSSMiB           float64 `json:"serverRssMiB"`
}

// CompareFanoutReport is compare-fanout's report: every run's fanout
// report, in the order run, and per server the median and range.
type CompareFanoutReport struct {
	Scenario        string       `json:"scenario"`
	Peer            string       `json:"peer"`
	Mode            string       `json:"mode"`
	Clients         int          `json:"clients"`
	PushesPerClient int          `json:"pushesPerClient"`
	OfferedPerSec   int          `json:"offeredDeliveriesPerSec"`
	Batch           int          `json:"batch,omitempty"`
	Rounds          int          `json:"rounds"`
	Machine         Machine      `json:"machine"`
	Seconds         float64      `json:"seconds"`
	Note            string       `json:"note"`
	Runs            []CompareRun `json:"runs"`
	Opsync          CompareSide  `json:"opsync"`
	PeerSide        CompareSide  `json:"peerSummary"`
	Ratio           CompareRatio `json:"ratioOpsyncToPeer"`
	asJSON          bool         // print as JSON (not part of it)
}

// Failed implements Report: a run ended with an error or failed.
func (r *CompareFanoutReport) Failed() bool {
	for _, x := range r.Runs {
		if x.Error != "" || x.Report == nil || x.Report.Failed() {
			return true
		}
	}
	return len(r.Runs) == 0
}

// WantsText implements TextReport.
func (r *CompareFanoutReport) WantsText() bool { return !r.asJSON }

const compareNote = "Same clients, payloads and offered rate on both sides, one server at a time on the bench's machine. " +
	"opsync fsyncs every entry and has every delivery acknowledged by its client; the peer keeps its history in memory " +
	"and its clients do not acknowledge."

func init() {
	register(&Scenario{Name: "compare-fanout", Spawns: true,
		Summary: "fanout against opsync and a Centrifuge server alternately (A B A B, a fresh server each run): medians, ranges, ratios",
		Bind: func(fs *flag.FlagSet) func(context.Context, *Env) (Report, error) {
			c := &CompareFanoutConfig{}
			c.Fanout.flags(fs)
			fs.StringVar(&c.Fanout.Peer, "peer", peerCentrifuge, "the peer server compared with: centrifuge (bench/peers/centrifuge)")
			peerBinFlag(fs, &c.Fanout.PeerBin)
			fs.IntVar(&c.Rounds, "rounds", 3, "runs of each server, alternating opsync, peer, opsync, peer, …")
			fs.BoolVar(&c.JSON, "json", false, "print the report as one JSON object (default: tables)")
			return func(ctx context.Context, env *Env) (Report, error) { return report(RunCompareFanout(ctx, env, *c)) }
		}})
}

// freshSpawn is a copy of e's settings that spawns a node of its own, with
// credentials of its own (an Env's credentials belong to one node).
func (e *Env) freshSpawn() *Env {
	return &Env{Spawn: true, Binary: e.Binary, ServeArgs: e.ServeArgs, KeepData: e.KeepData, Instance: e.Instance,
		AdminToken: e.AdminToken, Log: e.Log, Progress: e.Progress}
}

// RunCompareFanout runs compare-fanout.
func RunCompareFanout(ctx context.Context, env *Env, c CompareFanoutConfig) (*CompareFanoutReport, error) {
	f := c.Fanout
	if f.Peer == "" {
		f.Peer = peerCentrifuge
	}
	switch {
	case c.Rounds < 1:
		return nil, usageErr("--rounds must be positive")
	case f.Nodes > 1:
		return nil, usageErr("compare-fanout runs one opsync node: no --nodes")
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	bin, done, err := env.peerBinary(ctx, f.PeerBin)
	if err != nil {
		return nil, err
	}
	defer done()
	f.PeerBin = bin

	r := &CompareFanoutReport{Scenario: "compare-fanout", Peer: f.Peer, Mode: f.Mode, Clients: f.Clients, PushesPerClient: f.Pushes,
		OfferedPerSec: f.Rate, Rounds: c.Rounds, Machine: machine("go"), Note: compareNote, asJSON: c.JSON}
	if f.Mode == "user" {
		r.Batch = f.Batch
	}
	t0 := time.Now()
	total := 2 * c.Rounds
rounds:
	for round := 1; round <= c.Rounds; round++ {
		for _, server := range []string{"opsync", f.Peer} {
			if ctx.Err() != nil {
				break rounds
			}
			env.logf("compare-fanout: run %d/%d: %s, round %d (%s mode, %d clients), %s elapsed",
				len(r.Runs)+1, total, server, round, f.Mode, f.Clients, time.Since(t0).Round(time.Second))
			cfg := f
			if server == "opsync" {
				cfg.Peer, cfg.PeerBin = "", ""
			}
			rep, err := RunFanout(ctx, env.freshSpawn(), cfg)
			run := CompareRun{Round: round, Server: server, Report: rep}
			if err != nil {
				run.Error = err.Error()
			}
			r.Runs = append(r.Runs, run)
			env.logf("compare-fanout: run %d/%d done: %s", len(r.Runs), total, run.summary())
		}
	}
	r.Seconds = round1(time.Since(t0).Seconds())
	r.Opsync, r.PeerSide = r.side("opsync"), r.side(f.Peer)
	r.Ratio = CompareRatio{
		DeliveriesPerSec: ratio(r.Opsync.DeliveriesPerSec.Median, r.PeerSide.DeliveriesPerSec.Median),
		P99Ms:            ratio(r.Opsync.P99Ms.Median, r.PeerSide.P99Ms.Median),
		CPUPerDeliveryUs: ratio(r.Opsync.CPUPerDeliveryUs.Median, r.PeerSide.CPUPerDeliveryUs.Median),
		RSSMiB:           ratio(r.Opsync.RSSMiB.Median, r.PeerSide.RSSMiB.Median),
	}
	return r, ctx.Err()
}

// summary is a run's result on one line.
func (x CompareRun) summary() string {
	if x.Report == nil {
		return fmt.Sprintf("%s: error: %s", x.Server, x.Error)
	}
	p := x.Report
	s := fmt.Sprintf("%s: %s deliveries/s, p50 %s / p90 %s / p99 %s ms, server CPU %s µs/delivery, RSS %s MiB, missing %d",
		x.Server, formatNum(p.DeliveriesPerSec), formatNum(p.LatencyMs.P50), formatNum(p.LatencyMs.P90), formatNum(p.LatencyMs.P99),
		formatNum(p.ServerCPUPerDeliveryUs), formatNum(mib(p.ServerRSSBytes)), p.Missing)
	if x.Error != "" {
		s += "; error: " + x.Error
	}
	return s
}

func mib(b int64) float64 { return round1(float64(b) / (1 << 20)) }

// side summarises server's runs.
func (r *CompareFanoutReport) side(server string) CompareSide {
	s := CompareSide{Server: server}
	var dps, p99, cpu, rss []float64
	for _, x := range r.Runs {
		if x.Server != server || x.Report == nil || x.Error != "" {
			continue
		}
		s.Runs++
		if x.Report.Failed() {
			s.FailedRuns++
		}
		dps = append(dps, x.Report.DeliveriesPerSec)
		p99 = append(p99, x.Report.LatencyMs.P99)
		cpu = append(cpu, x.Report.ServerCPUPerDeliveryUs)
		rss = append(rss, mib(x.Report.ServerRSSBytes))
	}
	s.DeliveriesPerSec, s.P99Ms, s.CPUPerDeliveryUs, s.RSSMiB = spread(dps), spread(p99), spread(cpu), spread(rss)
	return s
}

// spread is the median (of the middle two for an even count), minimum and
// maximum of v.
func spread(v []float64) Spread {
	if len(v) == 0 {
		return Spread{}
	}
	v = append([]float64(nil), v...)
	sort.Float64s(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return Spread{Median: round3(m), Min: v[0], Max: v[len(v)-1]}
}

func ratio(a, b float64) float64 {
	if a == 0 || b == 0 {
		return 0
	}
	return math.Round(a/b*1000) / 1000
}

// WriteText implements TextReport: a line per run, then the summary.
func (r *CompareFanoutReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "compare-fanout: %s mode, %s clients, %d publications each", r.Mode, formatNum(float64(r.Clients)), r.PushesPerClient)
	if r.Batch > 0 {
		fmt.Fprintf(&b, " (batches of %d)", r.Batch)
	}
	offered := "unpaced"
	if r.OfferedPerSec > 0 {
		offered = "offered at " + formatNum(float64(r.OfferedPerSec)) + " deliveries/s"
	}
	m := r.Machine
	fmt.Fprintf(&b, ", %s; opsync and %s alternating, rounds: %d, a fresh server each run; %.0f s.\n", offered, r.Peer, r.Rounds, r.Seconds)
	fmt.Fprintf(&b, "machine: %s, %d cores; %s; commit %s; %s\n", m.CPU, m.Cores, m.GoVersion, m.Commit, m.Date)
	fmt.Fprintf(&b, "%s\n\n", r.Note)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tserver\tdeliveries/s\tp50 ms\tp90 ms\tp99 ms\tserver CPU µs/delivery\tserver cores\tserver RSS MiB\tbench cores\tmissing\tdisconnects\terrors\t")
	for i, x := range r.Runs {
		if x.Report == nil {
			fmt.Fprintf(tw, "%d\t%s\terror: %s\t\t\t\t\t\t\t\t\t\t\t\n", i+1, x.Server, x.Error)
			continue
		}
		p := x.Report
		var cores float64
		if p.ServerCPU != nil {
			cores = p.ServerCPU.Cores
		}
		errs := fmt.Sprint(p.PushErrors)
		if x.Error != "" {
			errs += " (" + x.Error + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t\n", i+1, x.Server, formatNum(p.DeliveriesPerSec),
			formatNum(p.LatencyMs.P50), formatNum(p.LatencyMs.P90), formatNum(p.LatencyMs.P99), formatNum(p.ServerCPUPerDeliveryUs),
			formatNum(cores), formatNum(mib(p.ServerRSSBytes)), formatNum(p.BenchCPU.Cores), p.Missing, p.Disconnects, errs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\nmedian [min – max] per server:\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\truns\tdeliveries/s\tp99 ms\tserver CPU µs/delivery\tserver RSS MiB\t")
	sp := func(s Spread) string {
		return fmt.Sprintf("%s [%s – %s]", formatNum(s.Median), formatNum(s.Min), formatNum(s.Max))
	}
	for _, s := range []CompareSide{r.Opsync, r.PeerSide} {
		runs := fmt.Sprint(s.Runs)
		if s.FailedRuns > 0 {
			runs += fmt.Sprintf(" (%d failed)", s.FailedRuns)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Server, runs, sp(s.DeliveriesPerSec), sp(s.P99Ms), sp(s.CPUPerDeliveryUs), sp(s.RSSMiB))
	}
	x := func(f float64) string {
		if f == 0 {
			return "—" // not measured on one side
		}
		return formatNum(f) + "×"
	}
	fmt.Fprintf(tw, "opsync/%s\t\t%s\t%s\t%s\t%s\t\n", r.Peer, x(r.Ratio.DeliveriesPerSec), x(r.Ratio.P99Ms), x(r.Ratio.CPUPerDeliveryUs), x(r.Ratio.RSSMiB))
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}
