package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// histogram records durations in log-linear buckets (64 per power of two,
// under 1.6% error) with atomic counters, so that thousands of goroutines
// record into one without locks or per-sample memory.
type histogram struct {
	counts [59 * 64]atomic.Uint64 // histIndex(math.MaxUint64) < 59*64
	n      atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Uint64
}

const histSubBits = 7 // values below 1<<histSubBits ns have their own bucket

func histIndex(v uint64) int {
	if v < 1<<histSubBits {
		return int(v)
	}
	e := bits.Len64(v) - histSubBits
	return e*64 + int(v>>e)
}

// histValue is the middle of bucket i.
func histValue(i int) uint64 {
	if i < 1<<histSubBits {
		return uint64(i)
	}
	e := i/64 - 1
	m := uint64(i%64 + 64)
	return m<<e + (uint64(1)<<e)/2
}

func (h *histogram) record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[histIndex(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// quantile returns the q-quantile (0 < q <= 1).
func (h *histogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(time.Duration(histValue(i)), time.Duration(h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func (h *histogram) latency() Latency {
	n := h.n.Load()
	l := Latency{Count: int64(n), P50: ms(h.quantile(0.50)), P90: ms(h.quantile(0.90)), P99: ms(h.quantile(0.99)), P999: ms(h.quantile(0.999)),
		Max: ms(time.Duration(h.max.Load()))}
	if n > 0 {
		l.Mean = ms(time.Duration(h.sum.Load() / n))
	}
	return l
}

// Usage is the CPU time a process used over a run, and its share of the
// run's wall time (1.0 = one core busy throughout).
type Usage struct {
	CPUSeconds float64 `json:"cpuSeconds"`
	Cores      float64 `json:"cores"`
}

// cpuMeter measures the CPU time of this process and of the spawned
// server processes pids (none when the node was not spawned) over an
// interval.
type cpuMeter struct {
	pids  []int
	t0    time.Time
	self0 float64
	srv0  []float64
	// nodes is each server's usage, set by stop.
	nodes []Usage
}

func startCPU(pids ...int) *cpuMeter {
	m := &cpuMeter{t0: time.Now(), self0: selfCPU()}
	for _, pid := range pids {
		if pid > 0 {
			c, _ := processCPU(pid)
			m.pids, m.srv0 = append(m.pids, pid), append(m.srv0, c)
		}
	}
	return m
}

// stop returns the bench's usage since start and the servers', summed
// (zero when none was spawned; a server that has exited counts zero).
func (m *cpuMeter) stop() (bench, server Usage) {
	wall := time.Since(m.t0).Seconds()
	bench.CPUSeconds = round3(selfCPU() - m.self0)
	m.nodes = make([]Usage, len(m.pids))
	var sum float64
	for i, pid := range m.pids {
		if c, err := processCPU(pid); err == nil {
			m.nodes[i].CPUSeconds = round3(c - m.srv0[i])
			sum += c - m.srv0[i]
		}
	}
	server.CPUSeconds = round3(sum)
	if wall > 0 {
		bench.Cores = round3(bench.CPUSeconds / wall)
		server.Cores = round3(server.CPUSeconds / wall)
		for i := range m.nodes {
			m.nodes[i].Cores = round3(m.nodes[i].CPUSeconds / wall)
		}
	}
	return bench, server
}

// perNode is each server's usage when there was more than one (nil
// otherwise), after stop.
func (m *cpuMeter) perNode() []Usage {
	if len(m.nodes) < 2 {
		return nil
	}
	return m.nodes
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
func round1(f float64) float64 { return math.Round(f*10) / 10 }

func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on every
// Linux architecture Go supports).
const clockTicks = 100

// processCPU reads a process's user + system CPU seconds from /proc.
func processCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: fields count from the
	// last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: unexpected /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64) // field 14
	st, err2 := strconv.ParseUint(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bench: unexpected /proc/%d/stat", pid)
	}
	return float64(ut+st) / clockTicks, nil
}

// processRSS reads a process's resident set size in bytes from
// /proc/PID/status (pid 0: this process).
func processRSS(pid int) (int64, error) {
	path := "/proc/self/status"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("bench: no VmRSS in %s", path)
}

// rate is n per second over d, rounded.
func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round1(float64(n) / d.Seconds())
}
