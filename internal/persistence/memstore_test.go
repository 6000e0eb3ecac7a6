package persistence_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/internal/persistence/journaltest"
)

// The suite's directories name MemStores: opening a directory again hands
// out a new handle on the data of the store first opened there, as a
// restart would find a Pebble directory. The suite's reopen checks thus
// check that Close loses nothing and a fresh handle sees everything.
func TestMemStoreConformance(t *testing.T) {
	var mu sync.Mutex
	stores := make(map[string]*persistence.MemStore)
	journaltest.Run(t, journaltest.Harness{
		Open: func(t *testing.T, dir string) persistence.Store {
			mu.Lock()
			defer mu.Unlock()
			s, ok := stores[dir]
			if ok {
				s = s.Reopen()
			} else {
				s = persistence.NewMemStore()
			}
			stores[dir] = s
			return s
		},
	})
}

func TestMemStoreReopen(t *testing.T) {
	s := persistence.NewMemStore()
	if err := s.Append(bg, "a", 1, [][]byte{[]byte("one")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := s.Reopen()
	if err := r.Append(bg, "a", 2, [][]byte{[]byte("two")}); err != nil {
		t.Fatal(err)
	}
	// The closed handle stays closed; the new one sees the old data.
	if _, err := s.HighestSeq(bg, "a"); !errors.Is(err, persistence.ErrClosed) {
		t.Fatalf("HighestSeq on the closed handle: %v, want ErrClosed", err)
	}
	if err := s.ReadBarrier(bg); !errors.Is(err, persistence.ErrClosed) {
		t.Fatalf("ReadBarrier on the closed handle: %v, want ErrClosed", err)
	}
	if err := r.ReadBarrier(bg); err != nil {
		t.Fatalf("ReadBarrier: %v", err)
	}
	if h, err := r.HighestSeq(bg, "a"); err != nil || h != 2 {
		t.Fatalf("HighestSeq after reopen = %d, %v; want 2", h, err)
	}
}

func TestMemStoreFailAppends(t *testing.T) {
	s := persistence.NewMemStore()
	defer s.Close()
	if err := s.Append(bg, "a", 1, [][]byte{[]byte("one")}); err != nil {
		t.Fatal(err)
	}
	diskFull := errors.New("disk full")
	s.FailAppends(diskFull)
	for range 2 {
		if err := s.Append(bg, "a", 2, [][]byte{[]byte("lost")}); !errors.Is(err, diskFull) {
			t.Fatalf("Append while failing: %v, want the injected error", err)
		}
	}
	// Argument errors come first; other calls work.
	if err := s.Append(bg, "", 2, [][]byte{[]byte("x")}); !errors.Is(err, persistence.ErrInvalidActorID) {
		t.Fatalf("Append with an empty id while failing: %v", err)
	}
	if err := s.SaveSnapshot(bg, "a", 1, []byte("snap")); err != nil {
		t.Fatalf("SaveSnapshot while appends fail: %v", err)
	}
	// A fresh handle does not inherit the fault.
	if err := s.Reopen().Append(bg, "b", 1, [][]byte{[]byte("b1")}); err != nil {
		t.Fatalf("Append through a reopened handle: %v", err)
	}
	if h, err := s.HighestSeq(bg, "a"); err != nil || h != 1 {
		t.Fatalf("HighestSeq after failed appends = %d, %v; want 1", h, err)
	}
	s.FailAppends(nil)
	if err := s.Append(bg, "a", 2, [][]byte{[]byte("two")}); err != nil {
		t.Fatalf("Append after FailAppends(nil): %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.FailAppends(diskFull)
	if err := s.Append(bg, "a", 3, [][]byte{[]byte("x")}); !errors.Is(err, persistence.ErrClosed) {
		t.Fatalf("Append on a closed, failing handle: %v, want ErrClosed", err)
	}
}

// What Replay and LoadSnapshot hand out is the caller's: changing it does
// not change the store.
func TestMemStoreCopiesOut(t *testing.T) {
	s := persistence.NewMemStore()
	defer s.Close()
	if err := s.Append(bg, "a", 1, [][]byte{[]byte("one")}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot(bg, "a", 1, []byte("snap")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		var got string
		if _, err := s.Replay(bg, "a", 1, persistence.MaxSeq, -1, func(_ uint64, e []byte) error {
			got = string(e)
			copy(e, "XXX")
			return nil
		}); err != nil || got != "one" {
			t.Fatalf("Replay = %q, %v; want one", got, err)
		}
		_, data, found, err := s.LoadSnapshot(bg, "a", persistence.MaxSeq)
		if err != nil || !found || string(data) != "snap" {
			t.Fatalf("LoadSnapshot = %q, %v, %v; want snap", data, found, err)
		}
		copy(data, "XXXX")
	}
}
