package persistence_test

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsync/opsync/internal/persistence"
)

// Every append is a durable (fsynced) commit, so these measure what an actor
// waits for before it can answer SUCCESS. Compare with the notes' figures
// for NATS JetStream with sync_interval: always.

var benchEvent = bytes.Repeat([]byte("e"), 200)

func benchStore(b *testing.B) *persistence.PebbleStore {
	b.Helper()
	s := openPebble(b, b.TempDir(), persistence.PebbleOptions{})
	b.Cleanup(func() { s.Close() })
	return s
}

// reportRate reports events/s over the timed part and the p50/p99 of the
// per-operation latencies in lat.
func reportRate(b *testing.B, events int, elapsed time.Duration, lat []time.Duration) {
	b.Helper()
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// benchAppend runs b.N appends of batch events each, spread over writers
// goroutines that each append to an actor of their own.
func benchAppend(b *testing.B, writers, batch int) {
	s := benchStore(b)
	events := make([][]byte, batch)
	for i := range events {
		events[i] = benchEvent
	}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			actor := fmt.Sprintf("bench-%d", w)
			seq := uint64(1)
			for {
				op := next.Add(1) - 1
				if op >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if err := s.Append(bg, actor, seq, events); err != nil {
					failed.Store(&err)
					return
				}
				lat[op] = time.Since(t0)
				seq += uint64(batch)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	reportRate(b, b.N*batch, elapsed, lat)
}

func BenchmarkAppend1Writer(b *testing.B) { benchAppend(b, 1, 1) }

// Many actors appending one event each at once: Pebble's commit pipeline
// lets them share fsyncs (group commit), so events/s grows with writers
// while each append's latency stays near one fsync.
func BenchmarkAppendManyWriters(b *testing.B) {
	for _, writers := range []int{16, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) { benchAppend(b, writers, 1) })
	}
}

func BenchmarkAppendBatch64(b *testing.B) { benchAppend(b, 1, 64) }

// BenchmarkReplay replays a whole actor journal of replayEvents events after
// a reopen, as an actor does on activation.
func BenchmarkReplay(b *testing.B) {
	const replayEvents = 50_000
	dir := b.TempDir()
	s := openPebble(b, dir, persistence.PebbleOptions{})
	batch := make([][]byte, 1000)
	for i := range batch {
		batch[i] = benchEvent
	}
	for first := uint64(1); first <= replayEvents; first += uint64(len(batch)) {
		if err := s.Append(bg, "replayed", first, batch); err != nil {
			b.Fatal(err)
		}
	}
	// Another actor's events around it, so the range is not the whole DB.
	for _, id := range []string{"replaye", "replayed-2"} {
		if err := s.Append(bg, id, 1, batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	s = openPebble(b, dir, persistence.PebbleOptions{})
	b.Cleanup(func() { s.Close() })

	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		t0 := time.Now()
		n := 0
		_, err := s.Replay(bg, "replayed", 1, persistence.MaxSeq, -1, func(uint64, []byte) error { n++; return nil })
		if err != nil || n != replayEvents {
			b.Fatalf("replayed %d events: %v", n, err)
		}
		lat[i] = time.Since(t0)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	reportRate(b, b.N*replayEvents, elapsed, lat)
}
