package state

import (
	"fmt"
	"runtime"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// The heap a stream holds per retained entry (its entry index and the
// entry's idempotency key): after applying the entries' events, and after
// restoring a snapshot of them from its encoding, as a recovery does.
// Reported as bytes/entry (go test -run ^$ -bench StreamMemory ./internal/state).
func BenchmarkStreamMemoryPerEntry(b *testing.B) {
	const n = 100_000
	build := func() *Stream {
		s := NewStream()
		for i := 1; i <= n; i++ {
			e := &opsyncpb.Entry{BizType: fmt.Sprintf("BIZ-%d", i%4), ThirdMsgId: fmt.Sprintf("msg-%08d", i), Payload: "p",
				PushTime: int64(i), ValidTimeEnd: int64(i) + 1e6, DeleteAfter: int64(i) + 2e6, MaxRetries: 6}
			if err := s.Apply(uint64(i), &opsyncpb.Event{Time: int64(i), Kind: &opsyncpb.Event_EntryAppended{EntryAppended: e}}); err != nil {
				b.Fatal(err)
			}
		}
		return s
	}
	b.Run("applied", func(b *testing.B) {
		for range b.N {
			before := heapInUse()
			s := build()
			after := heapInUse()
			if s.Len() != n {
				b.Fatal(s.Len())
			}
			b.ReportMetric(float64(after-before)/n, "bytes/entry")
			runtime.KeepAlive(s)
		}
	})
	b.Run("restored", func(b *testing.B) {
		enc, err := proto.Marshal(build().Snapshot())
		if err != nil {
			b.Fatal(err)
		}
		for range b.N {
			before := heapInUse()
			snap := &opsyncpb.StreamSnapshot{}
			if err := proto.Unmarshal(enc, snap); err != nil {
				b.Fatal(err)
			}
			s := RestoreStream(snap)
			snap = nil
			after := heapInUse()
			if s.Len() != n {
				b.Fatal(s.Len())
			}
			b.ReportMetric(float64(after-before)/n, "bytes/entry")
			runtime.KeepAlive(s)
		}
	})
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
