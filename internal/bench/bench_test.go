package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Every scenario runs small against a real `opsync serve` spawned from
// the binary built here, and its report's counts are checked.

var opsyncBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "opsync-bench-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	opsyncBin = filepath.Join(dir, "opsync")
	build := exec.Command("go", "build", "-o", opsyncBin, "github.com/opsync/opsync/cmd/opsync")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building opsync:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// spawnEnv is an environment spawning its own node.
func spawnEnv(t *testing.T) (*Env, context.Context) {
	t.Helper()
	if testing.Short() {
		t.Skip("spawns a node")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return &Env{Spawn: true, Binary: opsyncBin, Instance: "bench_TEST", Log: testLog{t}}, ctx
}

func TestPush(t *testing.T) {
	env, ctx := spawnEnv(t)
	r, err := RunPush(ctx, env, PushConfig{Biz: "BENCH", Count: 300, Concurrency: 8, Users: 10, PayloadSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	if r.Nodes != 1 || r.Pushes != 300 || r.Errors != 0 || r.LatencyMs.Count != 300 || r.PushesPerSec <= 0 || r.Failed() {
		t.Fatalf("report %+v", r)
	}
	if r.LatencyMs.P50 <= 0 || r.LatencyMs.P50 > r.LatencyMs.P99 || r.LatencyMs.P99 > r.LatencyMs.Max {
		t.Fatalf("latencies %+v", r.LatencyMs)
	}
	if r.ServerCPU == nil || r.ServerCPU.CPUSeconds <= 0 {
		t.Fatalf("server CPU not measured: %+v", r.ServerCPU)
	}
}

// push --spawn --nodes 3: a set of three nodes with the replicated
// journal, callers spread over them; every push acknowledged.
func TestPushNodeSet(t *testing.T) {
	env, ctx := spawnEnv(t)
	r, err := RunPush(ctx, env, PushConfig{Biz: "BENCH", Count: 50, Concurrency: 6, Users: 10, PayloadSize: 50, Nodes: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.Nodes != 3 || r.Pushes != 50 || r.Errors != 0 || r.LatencyMs.Count != 50 || r.Failed() {
		t.Fatalf("report %+v", r)
	}
	if r.ServerCPU == nil || len(r.ServerCPUPerNode) != 3 {
		t.Fatalf("server CPU not measured per node: %+v %+v", r.ServerCPU, r.ServerCPUPerNode)
	}
	var sum float64
	for _, u := range r.ServerCPUPerNode {
		sum += u.CPUSeconds
	}
	if d := sum - r.ServerCPU.CPUSeconds; d < -0.01 || d > 0.01 {
		t.Fatalf("serverCpu %+v is not the sum of %+v", r.ServerCPU, r.ServerCPUPerNode)
	}
	if r.Journal == nil || r.Journal.Appends < 50 {
		t.Fatalf("journal %+v", r.Journal)
	}
}

// --nodes > 1 needs --spawn.
func TestNodesNeedSpawn(t *testing.T) {
	env := &Env{Server: "http://127.0.0.1:1", Instance: "x"}
	if _, err := env.openSet(context.Background(), 3); err == nil {
		t.Fatal("a set opened without --spawn")
	}
}

func TestPushBatch(t *testing.T) {
	env, ctx := spawnEnv(t)
	r, err := RunPushBatch(ctx, env, PushBatchConfig{Biz: "BENCH", Count: 2500, Batch: 1000, Concurrency: 2, Users: 7, PayloadSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	if r.Entries != 2500 || r.Requests != 3 || r.Errors != 0 || r.LatencyMs.Count != 3 || r.Failed() {
		t.Fatalf("report %+v", r)
	}
}

func TestFanoutPerUser(t *testing.T) {
	env, ctx := spawnEnv(t)
	r, err := RunFanout(ctx, env, FanoutConfig{Mode: "user", Clients: 20, Pushes: 5, Batch: 7, Concurrency: 2, PayloadSize: 40,
		ConnectConc: 8, Sources: 2, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if r.Deliveries != 20*5 || r.Expected != 100 || r.Missing != 0 || r.Duplicates != 0 || r.LatencyMs.Count != 100 || r.Failed() {
		t.Fatalf("report %+v", r)
	}
	if r.SourceAddrs != 2 {
		t.Fatalf("source addresses %d", r.SourceAddrs)
	}
}

func TestFanoutGlobal(t *testing.T) {
	env, ctx := spawnEnv(t)
	r, err := RunFanout(ctx, env, FanoutConfig{Mode: "global", Clients: 20, Pushes: 5, Rate: 2000, Batch: 100, Concurrency: 2,
		PayloadSize: 40, ConnectConc: 8, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if r.Deliveries != 20*5 || r.Missing != 0 || r.Duplicates != 0 || r.Failed() {
		t.Fatalf("report %+v", r)
	}
	// 5 pushes × 20 clients offered at 2000/s: the pushes take 40 ms.
	if r.PushSeconds < 0.04 {
		t.Fatalf("pushes not paced: %+v", r)
	}
}

func TestConns(t *testing.T) {
	env, ctx := spawnEnv(t)
	r, err := RunConns(ctx, env, ConnsConfig{Clients: 50, ConnectConc: 10, Settle: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Server != "opsync" || r.Connected.Connected != 50 || r.Before.RSSBytes <= 0 || r.Connected.RSSBytes <= 0 || r.GoroutinesPerConn <= 0 || r.Failed() {
		t.Fatalf("report %+v", r)
	}
	// Each client registers one user-target bizType: its user's stream
	// is the only one it reads.
	if r.StreamActivations != 50 {
		t.Fatalf("%v stream activations for 50 clients, want one each", r.StreamActivations)
	}
	if r.AfterClose.Connected != 0 {
		t.Fatalf("clients still counted after closing: %+v", r.AfterClose)
	}
}

func TestCatchup(t *testing.T) {
	env, ctx := spawnEnv(t)
	r, err := RunCatchup(ctx, env, CatchupConfig{Backlog: 700, Batch: 300, Concurrency: 2, PayloadSize: 50, Repeat: 2, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if r.Received != 700 || r.Duplicates != 0 || r.OrderViolations != 0 || r.Frames == 0 || r.EntriesPerSec <= 0 || len(r.Runs) != 2 || r.Failed() {
		t.Fatalf("report %+v", r)
	}
	for _, x := range r.Runs {
		if x.Received != 700 || x.FirstDeliveryMs <= 0 || x.FirstDeliveryMs > x.Seconds*1000 {
			t.Fatalf("run %+v", x)
		}
	}
}

func TestRecovery(t *testing.T) {
	env, ctx := spawnEnv(t)
	r, err := RunRecovery(ctx, env, RecoveryConfig{Entries: 2000, Streams: 200, Batch: 500, Concurrency: 2, PayloadSize: 50, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Restarts) != 2 || r.EntriesPerStream != 10 || r.DataBytes <= 0 || r.Failed() {
		t.Fatalf("report %+v", r)
	}
	for _, x := range r.Restarts {
		if x.Delivered != 10 || x.HealthzMs <= 0 || x.ReadyzMs < x.HealthzMs || x.StreamDeliveredMs < x.FirstDeliveryMs || x.Error != "" {
			t.Fatalf("restart %+v", x)
		}
	}
}

func TestChaos(t *testing.T) {
	env, ctx := spawnEnv(t)
	r, err := RunChaos(ctx, env, ChaosConfig{Rounds: 2, Writers: 4, Streams: 2, RoundAcks: 200, RoundTimeout: time.Minute, SnapshotEvery: 50})
	if err != nil {
		t.Fatal(err)
	}
	if r.Kills != 2 || r.Acknowledged < 300 || r.Lost != 0 || r.Unexpected != 0 || r.DuplicateEntries != 0 || r.OrderViolations != 0 ||
		r.LostAtTails != 0 || r.OplogIDMismatches != 0 || r.Failed() {
		t.Fatalf("report %+v", r)
	}
	if r.Read < r.Acknowledged || r.Read > r.Attempted || r.Attempted != r.Acknowledged+r.Unanswered+r.Refused {
		t.Fatalf("counts do not add up: %+v", r)
	}
}

// The node-set soak, short: 3 nodes for 60 s, an event every 8 s after
// 8 s of warm-up: kills of the leader and of followers, the leader's
// partition and a full disk on one node (both as root; else the report
// says why they were skipped), then nothing lost, duplicated or reordered
// in any node's read-back. The memory bound is loose: 8 s is no warm-up,
// the 10-minute run (make chaos) holds the real one.
func TestChaosSet(t *testing.T) {
	env, _ := spawnEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The nodes' logs go to a directory of the test's (OPSYNC_CHAOS_LOGS
	// keeps them); a failure prints the end of each.
	logs := os.Getenv("OPSYNC_CHAOS_LOGS")
	if logs == "" {
		logs = t.TempDir()
	}
	defer func() {
		if t.Failed() {
			for i := 0; i < 3; i++ {
				b, _ := os.ReadFile(filepath.Join(logs, fmt.Sprintf("node%d.log", i)))
				t.Logf("node %d's log ends:\n%s", i, b[max(len(b)-6000, 0):])
			}
		}
	}()
	// The disk node's tmpfs must hold the run's own data besides the
	// filler: its raft log alone reaches ~250 MiB in 60 s (no raft
	// snapshot truncates it that early; the streams' snapshots, every 50
	// events here, carry their whole entry index). 256 MiB filled up and
	// left a stream on that node refusing every push.
	r, err := RunChaos(ctx, env, ChaosConfig{Rounds: 1, Writers: 6, Streams: 3, RoundAcks: 2, RoundTimeout: time.Minute, SnapshotEvery: 50,
		Set: ChaosSetConfig{NodeLogs: logs, Nodes: 3, Duration: 60 * time.Second, KillEvery: 8 * time.Second, Warmup: 8 * time.Second, Down: time.Second,
			Partition: true, PartitionHold: 4 * time.Second, DiskFull: true, DiskHold: 4 * time.Second, DiskMiB: 1024, DiskReserveMiB: 64,
			PushTimeout: 10 * time.Second, MemoryBound: 4}})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Set
	if r.Failed() || r.Error != "" || s == nil || r.Lost != 0 || r.Unexpected != 0 || r.DuplicateEntries != 0 || r.OrderViolations != 0 ||
		r.LostAtTails != 0 || r.OplogIDMismatches != 0 || r.Acknowledged < 100 {
		t.Fatalf("report %+v set %+v", r, s)
	}
	if s.LeaderKills < 1 || s.FollowerKills < 1 || r.Kills != s.LeaderKills+s.FollowerKills || len(s.Memory) != 3 || !s.MemoryPass {
		t.Fatalf("set %+v", s)
	}
	if r.Read < r.Acknowledged || r.Read > r.Attempted || r.Attempted != r.Acknowledged+r.Unanswered+r.Refused {
		t.Fatalf("counts do not add up: %+v", r)
	}
	root := os.Geteuid() == 0
	if p := s.Partition; p.Done != root || (p.Skipped == "") != root || (root && (p.Node < 0 || p.HeldMs < 4000)) {
		t.Fatalf("partition %+v (root: %v)", p, root)
	}
	if d := s.DiskFull; d.Done != root || (d.Skipped == "") != root || (root && (!d.Recovered || d.Refusals == 0 || d.Node != 2)) {
		t.Fatalf("disk episode %+v (root: %v)", d, root)
	}
	t.Logf("events:\n%s\nmemory: %+v", strings.Join(s.Events, "\n"), s.Memory)
}

func TestOrderViolationsAmongKept(t *testing.T) {
	order := []string{"r-w0-0", "r-w0-2", "r-w0-1", "r-w1-0", "r-w0-3", "x-w0-0"}
	for _, c := range []struct {
		name string
		keep func(w, seq int) bool
		want int64
	}{
		{"all", nil, 1},
		{"without the late one", func(w, seq int) bool { return !(w == 0 && seq == 1) }, 0},
		{"without the one it came after", func(w, seq int) bool { return !(w == 0 && seq == 2) }, 0},
	} {
		if got := orderViolations(order, "r", c.keep); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

func TestCompareMemory(t *testing.T) {
	for _, c := range []struct {
		name      string
		warm, end int64
		pass      bool
	}{
		{"same", 100, 100, true},
		{"shrank", 100, 60, true},
		{"at the bound", 100, 120, true},
		{"beyond it", 100, 121, false},
		{"no sample", 0, 50, false},
	} {
		s := &ChaosSetReport{MemoryBound: 0.2}
		s.compareMemory([]MemSample{{RSSBytes: c.warm}}, []MemSample{{RSSBytes: c.end}}, []float64{1})
		if s.MemoryPass != c.pass || s.Memory[0].Pass != c.pass {
			t.Errorf("%s: %+v", c.name, s)
		}
	}
}

// A scenario that needs its own node refuses to run against a given one.
func TestRecoveryAndChaosNeedSpawn(t *testing.T) {
	env := &Env{Server: "http://127.0.0.1:1", Instance: "x"}
	if _, err := env.open(context.Background(), true); err != errNeedSpawn {
		t.Fatalf("open: %v", err)
	}
}

func TestReportRunsRowsAndWritesMarkdown(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a node")
	}
	t.Parallel()
	out := filepath.Join(t.TempDir(), "benchmarks")
	if err := os.WriteFile(out+".md", []byte("# Benchmarks\n\nHand-written analysis.\n\n"+mdBegin+"\nold\n"+mdEnd+"\n\n## More text\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rows := []Row{{Name: "tiny push", Args: []string{"push", "--spawn", "--count", "50", "--concurrency", "4", "--users", "5", "--progress", "0"},
		Show:    []Metric{{"pushes", "pushesPerSec", "/s"}, {"p99", "latencyMs.p99", "ms"}},
		Targets: []Target{atLeast("pushes", "pushesPerSec", "/s", 1), atMost("p99", "latencyMs.p99", "ms", 0)}}}
	r, err := RunReport(context.Background(), ReportOptions{Out: out, Binary: opsyncBin, Rows: rows, Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Scenarios[0]
	if s.ExitCode != 0 || s.Error != "" || len(s.Values) != 2 || !s.Values[0].Found || len(s.Targets) != 2 || !s.Targets[0].Met || s.Targets[1].Met {
		t.Fatalf("scenario result %+v", s)
	}
	md, err := os.ReadFile(out + ".md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(md)
	for _, want := range []string{"Hand-written analysis.", "## More text", "| tiny push |", "`opsync bench push --spawn --count 50", "✓ met", "✗ missed", "Machine: "} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, "\nold\n") || strings.Count(doc, mdBegin) != 1 {
		t.Errorf("generated part not replaced:\n%s", doc)
	}
	if _, err := os.Stat(out + ".json"); err != nil {
		t.Fatal(err)
	}
}

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
pkg: github.com/opsync/opsync/internal/persistence
BenchmarkAppend1Writer-2       	   10000	    205920 ns/op	      4856 events/s	       201.9 p50-µs	      95 B/op	       3 allocs/op
BenchmarkAppendManyWriters/writers=16-2         	   87652	     37361 ns/op	     26766 events/s
PASS
pkg: github.com/opsync/opsync/internal/node
BenchmarkPushToDelivery/callers=1-2 	 1000	 1200000 ns/op	 833.3 pushes/s	 1.1 p50-ms
ok  	github.com/opsync/opsync/internal/node	3.1s
`
	res := parseGoBench(out)
	if len(res) != 3 {
		t.Fatalf("parsed %+v", res)
	}
	if res[0].Package != "github.com/opsync/opsync/internal/persistence" || res[0].Iterations != 10000 || res[0].Metrics["events/s"] != 4856 ||
		len(res[0].Units) != 5 || res[2].Package != "github.com/opsync/opsync/internal/node" || res[2].Metrics["pushes/s"] != 833.3 {
		t.Fatalf("parsed %+v", res)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	h := &histogram{}
	for i := 1; i <= 10000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5 * time.Millisecond}, {0.9, 9 * time.Millisecond}, {0.99, 9900 * time.Microsecond}, {0.999, 9990 * time.Microsecond}, {1, 10 * time.Millisecond}} {
		got := h.quantile(c.q)
		if d := got - c.want; d < -c.want/50 || d > c.want/50 {
			t.Errorf("q%.3f = %s, want %s ± 2%%", c.q, got, c.want)
		}
	}
	if l := h.latency(); l.Count != 10000 || l.Max != 10 || l.P90 < 8.8 || l.P90 > 9.2 || l.Mean < 4.9 || l.Mean > 5.1 {
		t.Errorf("latency %+v", l)
	}
	for _, v := range []uint64{0, 1, 127, 128, 129, 1 << 20, 1<<63 + 12345, ^uint64(0)} {
		i := histIndex(v)
		if i < 0 || i >= len(h.counts) {
			t.Fatalf("index %d of %d out of range", i, v)
		}
		if got := histValue(i); v >= 128 && (float64(got) < float64(v)*0.98 || float64(got) > float64(v)*1.02) {
			t.Errorf("bucket of %d is %d", v, got)
		}
	}
}

func TestFormatNum(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 0.1234: "0.123", 3.5: "3.5", 12.25: "12.25", 250.04: "250", 1234.6: "1,235", 1234567: "1,234,567", -2500: "-2,500"} {
		if got := formatNum(in); got != want {
			t.Errorf("formatNum(%v) = %q, want %q", in, got, want)
		}
	}
}

// The standard set compares 1 node with 3: each such row comes in a pair
// differing only by --nodes.
func TestStandardNodesRows(t *testing.T) {
	var ones, threes []Row
	for _, r := range Standard() {
		if len(r.Args) < 4 || r.Args[2] != "--nodes" {
			continue
		}
		switch r.Args[3] {
		case "1":
			ones = append(ones, r)
		case "3":
			threes = append(threes, r)
		}
	}
	if len(ones) < 3 || len(ones) != len(threes) {
		t.Fatalf("%d rows with --nodes 1, %d with --nodes 3", len(ones), len(threes))
	}
	for i := range ones {
		a, b := commandLine(ones[i].Args), commandLine(threes[i].Args)
		if strings.Replace(a, "--nodes 1", "--nodes 3", 1) != b || ones[i].Args[1] != "--spawn" {
			t.Errorf("unpaired rows: %s / %s", a, b)
		}
	}
}

// failover on a spawned set of three: the leader is killed twice, each
// writer resumes after each kill, and the report's distributions count
// every writer of every kill. (How soon they resume is the report's to
// tell, not this test's.)
func TestFailover(t *testing.T) {
	env, ctx := spawnEnv(t)
	r, err := RunFailover(ctx, env, FailoverConfig{Kills: 2, Writers: 2, Nodes: 3, Bound: 3 * time.Second,
		PushTimeout: 10 * time.Second, Settle: 5, KillTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed() || len(r.KillLog) != 2 || r.Overall.Count != 4 || r.LastWriter.Count != 2 || len(r.PerWriter) != 2 || r.Acknowledged < 20 {
		t.Fatalf("report %+v", r)
	}
	for _, k := range r.KillLog {
		if len(k.ResumedMs) != 2 || k.FirstMs <= 0 || k.AllMs < k.FirstMs || len(k.Slowest) == 0 {
			t.Fatalf("kill %+v", k)
		}
	}
	if r.Overall.Max != max(r.KillLog[0].AllMs, r.KillLog[1].AllMs) {
		t.Fatalf("overall max %v, kills %+v", r.Overall.Max, r.KillLog)
	}
}

func TestDist(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want Dist
	}{
		{nil, Dist{}},
		{[]float64{7}, Dist{Count: 1, P50: 7, P90: 7, Max: 7}},
		{[]float64{4, 1, 3, 2}, Dist{Count: 4, P50: 2, P90: 4, Max: 4}},
		{[]float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, Dist{Count: 10, P50: 5, P90: 9, Max: 10}},
	} {
		if got := dist(c.in); got != c.want {
			t.Errorf("dist(%v) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestBlockViewers(t *testing.T) {
	env, ctx := spawnEnv(t)
	r, err := RunBlock(ctx, env, BlockConfig{Viewers: 30, Updates: 20, Rate: 0, Concurrency: 2, PayloadSize: 40,
		ConnectConc: 8, Sources: 2, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// The server's CPU is measured (in clock ticks: a run this short may
	// count none of them).
	if r.Deliveries != 30*20 || r.Expected != 600 || r.Missing != 0 || r.LatencyMs.Count != 600 || r.Failed() || r.ServerCPU == nil {
		t.Fatalf("report %+v", r)
	}
}

// card: 3 cards × 10 viewers, each viewer a distinct user with private
// data; every public update reaches each of its card's viewers once, in
// order, with the viewer's own private value.
func TestCardViewers(t *testing.T) {
	env, ctx := spawnEnv(t)
	r, err := RunCard(ctx, env, CardConfig{Cards: 3, Viewers: 10, Updates: 12, Rate: 0, Concurrency: 2, PayloadSize: 40,
		ConnectConc: 8, Sources: 2, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if r.Connections != 30 || r.Expected != 12*10 || r.Views != 120 || r.LatencyMs.Count != 120 || r.OpenMs.Count != 30 ||
		r.Failed() || r.ServerCPU == nil || r.Dynamic != nil {
		t.Fatalf("report %+v", r)
	}
}

// card with dynamic sources: the bench's callback server checks every
// request's signature and answers per user; each viewer gets both of its
// card's sources (asked in one request), its own data only, no error (a
// pull timed out on a loaded machine may be sent again: at least 10).
func TestCardDynamic(t *testing.T) {
	env, ctx := spawnEnv(t)
	r, err := RunCard(ctx, env, CardConfig{Cards: 2, Viewers: 5, Updates: 4, Rate: 0, Concurrency: 2, PayloadSize: 40,
		ConnectConc: 4, Sources: 1, Timeout: time.Minute, Dynamic: CardDynamicConfig{Sources: 2}})
	if err != nil {
		t.Fatal(err)
	}
	d := r.Dynamic
	if r.Failed() || r.Views != 4*5 || d == nil || d.Callbacks < 10 || d.SourcesPerCallback != 2 || d.Viewers != 10 ||
		d.Frames != 20 || d.FirstFrameMs.Count != 10 {
		t.Fatalf("report %+v, dynamic %+v", r, d)
	}
}
