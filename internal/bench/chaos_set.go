package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ChaosSetConfig is chaos's node-set soak (--nodes N, N > 1): a spawned
// set of N voters under Writers and one tail client per stream for
// Duration; after Warmup, every KillEvery one event: a kill -9 of the
// raft leader or of a follower (alternately, each restarted after Down),
// and once each, if asked, a partition of the leader and a full disk on
// one node. Then a read-back through every node.
type ChaosSetConfig struct {
	Nodes     int
	Duration  time.Duration
	KillEvery time.Duration
	Warmup    time.Duration
	Down      time.Duration
	Partition bool
	// PartitionHold is how long the leader stays cut off.
	PartitionHold time.Duration
	DiskFull      bool
	DiskHold      time.Duration
	// DiskMiB is the size of the tmpfs holding the last node's data
	// directory (with DiskFull); DiskReserveMiB that node's --disk-reserve.
	// The tmpfs must hold all the node's data of the run besides the
	// reserve: a follower's replica applies what the set committed
	// whatever its disk (README, "A full disk"), so a volume that the
	// run's data fills takes the node down. The 10-minute soak here
	// wrote about 1 GiB per node (raft log, replica, snapshots).
	DiskMiB        int
	DiskReserveMiB int
	PushTimeout    time.Duration
	// MemoryBound: each node's RSS at the end may exceed its RSS after
	// the warm-up by at most this fraction.
	MemoryBound float64
	NodeLogs    string
	// HeapProfiles, if set, is a directory receiving each node's heap
	// profile when its memory is taken (node<i>-warm.heap, node<i>-end.heap).
	HeapProfiles string
}

func (c *ChaosSetConfig) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.Nodes, "nodes", 1, "1: the single-node crash rounds; N > 1: the node-set soak on N spawned voters for --duration (--rounds and --round-acks are not used)")
	fs.DurationVar(&c.Duration, "duration", 10*time.Minute, "set soak: how long the load runs")
	fs.DurationVar(&c.KillEvery, "kill-every", 30*time.Second, "set soak: one event (a kill of the leader or of a follower, alternately; the partition; the disk episode) this often after the warm-up")
	fs.DurationVar(&c.Warmup, "warmup", time.Minute, "set soak: load without events before each node's memory is taken as its baseline")
	fs.DurationVar(&c.Down, "down", 2*time.Second, "set soak: how long a killed node stays down before it is started again")
	fs.BoolVar(&c.Partition, "partition", false, "set soak: cut the raft leader off once (network namespaces; root only, else skipped and reported)")
	fs.DurationVar(&c.PartitionHold, "partition-hold", 15*time.Second, "set soak: how long the partition lasts")
	fs.BoolVar(&c.DiskFull, "disk-full", false, "set soak: the last node's data directory is a small tmpfs, filled once below its reserve (root only, else skipped and reported)")
	fs.DurationVar(&c.DiskHold, "disk-hold", 30*time.Second, "set soak: how long the disk stays below the reserve under load")
	fs.IntVar(&c.DiskMiB, "disk-mib", 3072, "set soak: size of that tmpfs in MiB; it must hold the node's data of the whole run besides the filler (tmpfs takes memory only for what is written)")
	fs.IntVar(&c.DiskReserveMiB, "disk-reserve-mib", 128, "set soak: that node's --disk-reserve in MiB")
	fs.DurationVar(&c.PushTimeout, "push-timeout", 10*time.Second, "set soak: a writer's HTTP timeout per push (then it moves to the next node)")
	fs.Float64Var(&c.MemoryBound, "memory-bound", 0.2, "set soak: each node's RSS at the end may exceed its RSS after the warm-up by this fraction")
	fs.StringVar(&c.NodeLogs, "node-logs", "", "set soak: directory to write each node's stderr to (node<i>.log)")
	fs.StringVar(&c.HeapProfiles, "heap-profiles", "", "set soak: directory to write each node's heap profile to when its memory is taken (node<i>-warm.heap, node<i>-end.heap; read with go tool pprof)")
}

func (c *ChaosSetConfig) check() error {
	if c.Nodes < 3 || c.Duration <= 0 || c.KillEvery <= 0 || c.Warmup < 0 || c.Down < 0 || c.PartitionHold <= 0 || c.DiskHold <= 0 ||
		c.PushTimeout <= 0 || c.MemoryBound <= 0 || c.DiskReserveMiB < 8 || c.DiskMiB < 2*c.DiskReserveMiB {
		return usageErr("set soak: --nodes at least 3; --duration, --kill-every, --partition-hold, --disk-hold, --push-timeout, --memory-bound positive; " +
			"--disk-reserve-mib at least 8 and --disk-mib at least twice it")
	}
	return nil
}

// ChaosSetReport is the set soak's part of chaos's report.
type ChaosSetReport struct {
	Nodes         int     `json:"nodes"`
	DurationS     float64 `json:"durationS"`
	WarmupS       float64 `json:"warmupS"`
	KillEveryS    float64 `json:"killEveryS"`
	LeaderKills   int     `json:"leaderKills"`
	FollowerKills int     `json:"followerKills"`
	// Events is what happened when, in seconds from the start.
	Events    []string         `json:"events"`
	Partition PartitionEpisode `json:"partition"`
	DiskFull  DiskEpisode      `json:"diskFull"`
	// Memory is each node's memory after the warm-up and at the end (both
	// under load); MemoryPass: every node's RSS at the end within
	// MemoryBound of its RSS after the warm-up.
	Memory      []NodeMemory `json:"memory"`
	MemoryBound float64      `json:"memoryBound"`
	MemoryPass  bool         `json:"memoryPass"`
}

// PartitionEpisode is the leader's partition: done, or skipped and why.
type PartitionEpisode struct {
	Done    bool    `json:"done"`
	Skipped string  `json:"skipped,omitempty"`
	Node    int     `json:"node"`
	HeldMs  float64 `json:"heldMs,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// DiskEpisode is the full disk: refusals are pushes answered SYSTEM_ERROR
// "disk space low" (not acknowledged, so never lost); recovered: the node
// was ready and acknowledged a push through it after the filler was
// removed, RecoverMs after.
type DiskEpisode struct {
	Done      bool    `json:"done"`
	Skipped   string  `json:"skipped,omitempty"`
	Node      int     `json:"node"`
	HeldMs    float64 `json:"heldMs,omitempty"`
	Refusals  int64   `json:"refusals"`
	Recovered bool    `json:"recovered"`
	RecoverMs float64 `json:"recoverMs,omitempty"`
	Error     string  `json:"error,omitempty"`
}

// NodeMemory is one node's process_resident_memory_bytes and
// go_memstats_heap_inuse_bytes from its /metrics.
type NodeMemory struct {
	Node          int     `json:"node"`
	WarmRSSBytes  int64   `json:"warmRssBytes"`
	WarmHeapBytes int64   `json:"warmHeapBytes"`
	EndRSSBytes   int64   `json:"endRssBytes"`
	EndHeapBytes  int64   `json:"endHeapBytes"`
	RSSRatio      float64 `json:"rssRatio"` // end / warm
	Pass          bool    `json:"pass"`
	// EndUptimeS is how long the process measured at the end had run (a
	// node killed during the run is a new process since its restart).
	EndUptimeS float64 `json:"endUptimeS"`
}

func (s *ChaosSetReport) failed() bool {
	if s == nil {
		return false
	}
	return !s.MemoryPass || s.Partition.Error != "" || s.DiskFull.Error != "" || (s.DiskFull.Done && !s.DiskFull.Recovered)
}

func (s *ChaosSetReport) event(began time.Time, format string, args ...any) string {
	line := fmt.Sprintf("%6.1fs ", time.Since(began).Seconds()) + fmt.Sprintf(format, args...)
	s.Events = append(s.Events, line)
	return line
}

// setNodes are the set's current URLs (a restarted node has a new port).
type setNodes struct {
	mu   sync.Mutex
	urls []string
}

func (n *setNodes) url(i int) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.urls[i%len(n.urls)]
}

func (n *setNodes) set(i int, url string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.urls[i] = url
}

// chaosSet is one run of the set soak.
type chaosSet struct {
	c      ChaosConfig
	env    *Env
	t      *target
	dir    string // the nodes' data directories are under it
	nodes  *setNodes
	net    *netnsSet    // nil: the nodes are on 127.0.0.1
	vol    *smallVolume // nil: no disk episode
	rep    *ChaosSetReport
	began  time.Time
	diskOn atomic.Bool // counting disk refusals
	diskNo atomic.Int64
}

func runChaosSet(ctx context.Context, env *Env, c ChaosConfig) (*ChaosReport, error) {
	sc := c.Set
	if err := sc.check(); err != nil {
		return nil, err
	}
	env.Spawn = true
	env.nodeLogs = sc.NodeLogs
	x := &chaosSet{c: c, env: env, rep: &ChaosSetReport{Nodes: sc.Nodes, DurationS: sc.Duration.Seconds(), WarmupS: sc.Warmup.Seconds(),
		KillEveryS: sc.KillEvery.Seconds(), MemoryBound: sc.MemoryBound, Partition: PartitionEpisode{Node: -1}, DiskFull: DiskEpisode{Node: -1}}}
	x.rep.Partition.Skipped, x.rep.DiskFull.Skipped = "not asked (--partition)", "not asked (--disk-full)"
	defer x.teardown()
	t, err := x.open(ctx)
	if err != nil {
		return nil, err
	}
	x.t = t
	return x.run(ctx)
}

// open spawns the set: in network namespaces for the partition, the last
// node's data directory on a tmpfs for the disk episode.
func (x *chaosSet) open(ctx context.Context) (*target, error) {
	sc := x.c.Set
	dir, err := os.MkdirTemp("", "opsync-bench-chaos-set-")
	if err != nil {
		return nil, err
	}
	x.dir = dir
	t := &target{env: x.env, dir: dir, temp: !x.env.KeepData}
	plan := setPlan{extra: func(int) []string { return []string{"--snapshot-every", strconv.Itoa(x.c.SnapshotEvery)} }}
	if sc.Partition {
		if why := netnsUnavailable(); why != "" {
			x.rep.Partition.Skipped = why
		} else if x.net, err = newNetnsSet(sc.Nodes); err != nil {
			t.close()
			return nil, err
		} else {
			x.rep.Partition.Skipped = ""
			plan.host, plan.wrapper, plan.httpPort = x.net.addr, x.net.wrapper, x.net.httpPort
		}
	}
	if sc.DiskFull {
		d := sc.Nodes - 1
		if why := volumeUnavailable(); why != "" {
			x.rep.DiskFull.Skipped = why
		} else if x.vol, err = mountVolume(filepath.Join(dir, fmt.Sprintf("node%d", d)), int64(sc.DiskMiB)<<20); err != nil {
			t.close()
			return nil, err
		} else {
			x.rep.DiskFull.Skipped, x.rep.DiskFull.Node = "", d
			plan.extra = func(i int) []string {
				out := []string{"--snapshot-every", strconv.Itoa(x.c.SnapshotEvery)}
				if i == d {
					out = append(out, "--disk-reserve", fmt.Sprintf("%dMiB", sc.DiskReserveMiB))
				}
				return out
			}
		}
	}
	if err := t.startSet(ctx, sc.Nodes, plan); err != nil {
		t.close()
		return nil, err
	}
	x.nodes = &setNodes{urls: t.urls()}
	return t, nil
}

// teardown stops the nodes, then unmounts the volume and removes the
// namespaces (in that order: a node holds its files open).
func (x *chaosSet) teardown() {
	if x.t != nil {
		x.t.close()
	}
	if x.vol != nil {
		if err := x.vol.unmount(); err != nil {
			x.env.logf("chaos: %v", err)
		}
		if !x.env.KeepData {
			os.RemoveAll(x.dir) // what close could not remove while mounted
		}
	}
	if x.net != nil {
		x.net.teardown()
	}
}

func (x *chaosSet) run(ctx context.Context) (*ChaosReport, error) {
	c, sc, env := x.c, x.c.Set, x.env
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed>>1|1))
	const biz = "CHAOS"
	a := x.t.api(2)
	err := x.t.setup(ctx, a, biz, map[string]any{"target": "user", "multiDevice": true})
	a.close()
	if err != nil {
		return nil, err
	}
	r := &ChaosReport{Scenario: "chaos", Seed: c.Seed, Writers: c.Writers, Streams: c.Streams, Set: x.rep}
	run := runID()
	user := func(s int) string { return "chaos-" + run + "-u" + strconv.Itoa(s) }
	sentinelID := run + "-sentinel"
	x.began = time.Now()

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var acked, attempted, failed, refused atomic.Int64
	writers := make([]*chaosWriter, c.Writers)
	var wwg sync.WaitGroup
	for w := range writers {
		wr := &chaosWriter{w: w, stream: w % c.Streams, acked: map[int]uint64{}}
		writers[w] = wr
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}, Timeout: sc.PushTimeout}
			defer hc.CloseIdleConnections()
			node := w % sc.Nodes
			var body []byte
			for seq := 0; loadCtx.Err() == nil; seq++ {
				id := wr.id(run, seq)
				body = appendItem(body[:0], biz, user(wr.stream), id, id)
				wr.sent(seq)
				attempted.Add(1)
				ans, err := (&api{base: x.nodes.url(node), hc: hc, creds: env.creds()}).push(loadCtx, env.Instance, false, body)
				switch {
				case err != nil:
					failed.Add(1)
				case ans.stored():
					wr.acknowledged(seq, ans.OplogID)
					acked.Add(1)
					continue
				default:
					refused.Add(1)
					if x.diskOn.Load() && strings.Contains(ans.Detail, "disk space low") {
						x.diskNo.Add(1)
					}
				}
				// Not acknowledged: the next push goes to the next node,
				// after a pause (a dead node refuses at once).
				node = (node + 1) % sc.Nodes
				select {
				case <-loadCtx.Done():
				case <-time.After(10 * time.Millisecond):
				}
			}
		}()
	}
	// A tail client follows its stream across the nodes: each failed
	// connection moves it to the next one.
	pick := func(start int) pickNode {
		return func(ctx context.Context, tries int) (string, bool) {
			return x.nodes.url(start + tries), ctx.Err() == nil
		}
	}
	tails := make([]*chaosTail, c.Streams)
	var twg sync.WaitGroup
	for s := range tails {
		tails[s] = newChaosTail(s)
		twg.Add(1)
		go func() {
			defer twg.Done()
			tails[s].run(loadCtx, pick(s), env.Instance, user(s), biz, run, sentinelID)
		}()
	}
	stopProgress := env.ticker(func() {
		disk := ""
		if x.vol != nil {
			if free, err := x.vol.free(); err == nil {
				disk = fmt.Sprintf("; node %d's volume: %d MiB free", x.rep.DiskFull.Node, free>>20)
			}
		}
		env.logf("chaos: %.0fs: %d acknowledged, %d refused, %d unanswered%s", time.Since(x.began).Seconds(), acked.Load(), refused.Load(), failed.Load(), disk)
	})
	fail := func(err error) (*ChaosReport, error) {
		r.Error = err.Error()
		stopProgress()
		stopLoad()
		wwg.Wait()
		twg.Wait()
		r.Attempted, r.Acknowledged, r.Unanswered, r.Refused = attempted.Load(), acked.Load(), failed.Load(), refused.Load()
		r.Seconds = round3(time.Since(x.began).Seconds())
		return r, nil
	}

	if err := x.until(ctx, sc.Warmup); err != nil {
		return fail(err)
	}
	warm, _, err := x.memory(ctx, "warm")
	if err != nil {
		return fail(err)
	}
	for k, ev := 0, 0; sc.Warmup+time.Duration(k+1)*sc.KillEvery <= sc.Duration; k++ {
		if err := x.until(ctx, sc.Warmup+time.Duration(k)*sc.KillEvery); err != nil {
			return fail(err)
		}
		// The second event is the partition, the fourth the disk
		// episode, early enough to happen in a short run; the others
		// kill, the leader first.
		var err error
		switch {
		case k == 1 && x.net != nil:
			err = x.partition(ctx)
		case k == 3 && x.vol != nil:
			err = x.diskFull(ctx)
		default:
			err = x.kill(ctx, rng, ev%2 == 0)
			ev++
		}
		r.Kills = x.rep.LeaderKills + x.rep.FollowerKills
		if err != nil {
			return fail(err)
		}
	}
	if err := x.until(ctx, sc.Duration); err != nil {
		return fail(err)
	}
	end, uptime, err := x.memory(ctx, "end")
	if err != nil {
		return fail(err)
	}
	x.rep.compareMemory(warm, end, uptime)
	stopProgress()
	stopLoad()
	wwg.Wait()
	twg.Wait()
	r.Attempted, r.Acknowledged, r.Unanswered, r.Refused = attempted.Load(), acked.Load(), failed.Load(), refused.Load()
	env.logf("chaos: load stopped after %.0fs: %d acknowledged; reading back", time.Since(x.began).Seconds(), r.Acknowledged)

	// A sentinel per stream; the tails read up to it, then a fresh device
	// per stream reads it through each node.
	ctx2, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for s := range tails {
		if err := x.pushSomewhere(ctx2, biz, user(s), sentinelID); err != nil {
			return fail(fmt.Errorf("bench: sentinel of stream %d: %w", s, err))
		}
	}
	var fwg sync.WaitGroup
	for s, tl := range tails {
		fwg.Add(1)
		go func() {
			defer fwg.Done()
			tl.run(ctx2, pick(s), env.Instance, user(s), biz, run, sentinelID)
		}()
	}
	fwg.Wait()
	if err := sentinelsRead(tails); err != nil {
		return fail(err)
	}
	// Order among acknowledged pushes only: a push not acknowledged may
	// still be stored after its writer's next one (it timed out on one
	// node while the next went through another), as a backend's retry
	// could be.
	ackedOnly := func(w, seq int) bool { _, ok := writers[w].acked[seq]; return ok }
	for i := 0; i < sc.Nodes; i++ {
		if err := r.readBackAll(ctx2, x.nodes.url(i), fmt.Sprintf("-node%d", i), i == 0, env.Instance, biz, run, user, sentinelID, writers, ackedOnly); err != nil {
			return fail(err)
		}
	}
	r.verifyTails(writers, tails, run, ackedOnly)
	r.Seconds = round3(time.Since(x.began).Seconds())
	return r, nil
}

// until waits until d after the start (the schedule's next point).
func (x *chaosSet) until(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(time.Until(x.began.Add(d))):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pushSomewhere pushes one entry through any node, trying them in turn
// until one acknowledges it.
func (x *chaosSet) pushSomewhere(ctx context.Context, biz, user, id string) error {
	var last error
	for i := 0; ctx.Err() == nil; i++ {
		a := newAPI(x.nodes.url(i), x.env.creds(), 1)
		c, cancel := context.WithTimeout(ctx, x.c.Set.PushTimeout)
		ans, err := a.push(c, x.env.Instance, false, appendItem(nil, biz, user, id, id))
		cancel()
		a.close()
		if err == nil && ans.stored() {
			return nil
		}
		last = errors.Join(err, fmt.Errorf("answer %+v", ans))
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
}

// memory samples every node's /metrics: its memory, and how long its
// process has run.
func (x *chaosSet) memory(ctx context.Context, when string) ([]MemSample, []float64, error) {
	out, uptime := make([]MemSample, x.c.Set.Nodes), make([]float64, x.c.Set.Nodes)
	for i := range out {
		a := newAPI(x.nodes.url(i), x.env.creds(), 1)
		s, mt, err := (&memSampler{a: a}).sample(ctx)
		if err == nil && x.c.Set.HeapProfiles != "" {
			err = saveHeapProfile(ctx, a, filepath.Join(x.c.Set.HeapProfiles, fmt.Sprintf("node%d-%s.heap", i, when)))
		}
		a.close()
		if err != nil {
			return nil, nil, fmt.Errorf("bench: memory of node %d: %w", i, err)
		}
		out[i] = s
		if st := mt["process_start_time_seconds"]; st > 0 {
			uptime[i] = round3(float64(time.Now().UnixMilli())/1000 - st)
		}
	}
	return out, uptime, nil
}

func (s *ChaosSetReport) compareMemory(warm, end []MemSample, endUptime []float64) {
	s.MemoryPass = true
	for i := range warm {
		m := NodeMemory{Node: i, WarmRSSBytes: warm[i].RSSBytes, WarmHeapBytes: warm[i].HeapInuseBytes,
			EndRSSBytes: end[i].RSSBytes, EndHeapBytes: end[i].HeapInuseBytes, EndUptimeS: endUptime[i]}
		if m.WarmRSSBytes > 0 {
			m.RSSRatio = round3(float64(m.EndRSSBytes) / float64(m.WarmRSSBytes))
		}
		m.Pass = m.WarmRSSBytes > 0 && float64(m.EndRSSBytes) <= (1+s.MemoryBound)*float64(m.WarmRSSBytes)
		s.MemoryPass = s.MemoryPass && m.Pass
		s.Memory = append(s.Memory, m)
	}
}

// saveHeapProfile writes the heap profile of a's node to path.
func saveHeapProfile(ctx context.Context, a *api, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/api/v1/debug/pprof/heap", nil)
	if err != nil {
		return err
	}
	a.authorize(req)
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("heap profile: HTTP %d", resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
