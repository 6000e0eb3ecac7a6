package persistence_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/opsync/opsync/internal/persistence"
)

// Below the space guard's floor the store refuses appends and snapshots
// before Pebble sees them, and still writes deletes; what it writes lowers
// the guard's estimate of the free space.
func TestPebbleStoreUnderSpaceGuard(t *testing.T) {
	const reserve = 1 << 20
	var free atomic.Uint64
	free.Store(100 << 20)
	guard := persistence.NewSpaceGuard(persistence.SpaceOptions{Dir: "test", Reserve: reserve,
		Free: func() (uint64, error) { return free.Load(), nil }})
	guard.Sample()
	s := openPebble(t, t.TempDir(), persistence.PebbleOptions{Space: guard})
	defer s.Close()
	ctx := context.Background()

	if err := s.Append(ctx, "a", 1, [][]byte{make([]byte, 1000)}); err != nil {
		t.Fatal(err)
	}
	if got := guard.FreeBytes(); got > 100<<20-1000 {
		t.Fatalf("after a 1000-byte append the estimate is %d, want at most %d", got, 100<<20-1000)
	}

	free.Store(reserve / 8) // below the floor
	guard.Sample()
	for name, err := range map[string]error{
		"append":   s.Append(ctx, "a", 2, [][]byte{[]byte("x")}),
		"snapshot": s.SaveSnapshot(ctx, "a", 1, []byte("state")),
	} {
		if !errors.Is(err, persistence.ErrDiskFull) {
			t.Fatalf("%s below the floor: %v, want ErrDiskFull", name, err)
		}
	}
	if err := s.DeleteRange(ctx, "a", 1, 1); err != nil {
		t.Fatalf("a delete below the floor: %v", err)
	}
	if err := s.DeleteSnapshots(ctx, "a", 0, 10); err != nil {
		t.Fatalf("a snapshot delete below the floor: %v", err)
	}

	free.Store(100 << 20)
	guard.Sample()
	if err := s.Append(ctx, "a", 2, [][]byte{[]byte("x")}); err != nil {
		t.Fatalf("append once space is back: %v", err)
	}
	if h, _ := s.HighestSeq(ctx, "a"); h != 2 {
		t.Fatalf("highest %d, want 2 (the refused append left nothing)", h)
	}
}
