package raftjournal

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRaftAppend measures acknowledged one-event appends (200 bytes)
// on a 3-node set on loopback, each writer appending to an actor of its own
// through the leader or through a follower (forwarded). Compare with
// persistence's BenchmarkAppend (local fsync per append).
func BenchmarkRaftAppend(b *testing.B) {
	for _, via := range []string{"leader", "follower"} {
		for _, writers := range []int{1, 16} {
			b.Run(fmt.Sprintf("via=%s/writers=%d", via, writers), func(b *testing.B) {
				c := newCluster(b, b.TempDir(), 3, func(cfg *Config) {
					cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = time.Second, time.Second, 500*time.Millisecond
				})
				defer c.close()
				n := c.leader()
				if via == "follower" {
					n = c.follower()
				}
				benchRaftAppend(b, n, writers)
			})
		}
	}
}

func benchRaftAppend(b *testing.B, n *testNode, writers int) {
	event := [][]byte{bytes.Repeat([]byte("e"), 200)}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			actor := fmt.Sprintf("bench-%d", w)
			seq := uint64(1)
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if err := n.store.Append(bg, actor, seq, event); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(t0)
				seq++
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
