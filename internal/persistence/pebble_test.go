package persistence_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/internal/persistence/journaltest"
)

func openPebble(t testing.TB, dir string, opts persistence.PebbleOptions) *persistence.PebbleStore {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	s, err := persistence.OpenPebble(dir, opts)
	if err != nil {
		t.Fatalf("OpenPebble(%s): %v", dir, err)
	}
	return s
}

func TestPebbleConformance(t *testing.T) {
	journaltest.Run(t, journaltest.Harness{
		Open: func(t *testing.T, dir string) persistence.Store {
			return openPebble(t, dir, persistence.PebbleOptions{})
		},
	})
}

// The same suite on a store whose memtable flushes every few hundred
// events, so that reads merge sstables, range tombstones and memtables.
func TestPebbleConformanceSmallMemtable(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	journaltest.Run(t, journaltest.Harness{
		Open: func(t *testing.T, dir string) persistence.Store {
			var opts persistence.PebbleOptions
			persistence.SetMemTableSize(&opts, 64<<10)
			return openPebble(t, dir, opts)
		},
	})
}

var bg = context.Background()

func TestPebbleReadOnly(t *testing.T) {
	dir := t.TempDir()
	w := openPebble(t, dir, persistence.PebbleOptions{})
	if err := w.Append(bg, "a", 1, [][]byte{[]byte("one"), []byte("two")}); err != nil {
		t.Fatal(err)
	}
	// The directory is locked while a writer has it open.
	if s, err := persistence.OpenPebble(dir, persistence.PebbleOptions{ReadOnly: true}); err == nil {
		s.Close()
		t.Fatal("read-only open of a store in use succeeded")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	r := openPebble(t, dir, persistence.PebbleOptions{ReadOnly: true})
	defer r.Close()
	if h, err := r.HighestSeq(bg, "a"); err != nil || h != 2 {
		t.Fatalf("HighestSeq = %d, %v", h, err)
	}
	var got []string
	if _, err := r.Replay(bg, "a", 1, persistence.MaxSeq, -1, func(_ uint64, e []byte) error {
		got = append(got, string(e))
		return nil
	}); err != nil || !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("Replay = %q, %v", got, err)
	}
	for op, err := range map[string]error{
		"Append":          r.Append(bg, "a", 3, [][]byte{[]byte("x")}),
		"DeleteRange":     r.DeleteRange(bg, "a", 1, 1),
		"SaveSnapshot":    r.SaveSnapshot(bg, "a", 1, nil),
		"DeleteSnapshots": r.DeleteSnapshots(bg, "a", 1, 1),
	} {
		if !errors.Is(err, persistence.ErrReadOnly) {
			t.Errorf("%s on a read-only store: %v, want ErrReadOnly", op, err)
		}
	}
}

func TestPebbleReadOnlyTouchesNothing(t *testing.T) {
	parent := t.TempDir()
	missing := filepath.Join(parent, "missing")
	if _, err := persistence.OpenPebble(missing, persistence.PebbleOptions{ReadOnly: true}); err == nil {
		t.Fatal("read-only open of a missing directory succeeded")
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("read-only open created %s (stat: %v)", missing, err)
	}
	if _, err := persistence.OpenPebble(parent, persistence.PebbleOptions{ReadOnly: true}); err == nil {
		t.Fatal("read-only open of an empty directory succeeded")
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Fatalf("read-only open left files in an empty directory: %v", ents)
	}
}

func TestPebbleActors(t *testing.T) {
	dir := t.TempDir()
	s := openPebble(t, dir, persistence.PebbleOptions{})
	app := func(id string, first uint64, n int) {
		t.Helper()
		events := make([][]byte, n)
		for i := range events {
			events[i] = []byte("e")
		}
		if err := s.Append(bg, id, first, events); err != nil {
			t.Fatal(err)
		}
	}
	app("b", 1, 3)
	app("ab", 1, 10)
	app("a", 1, 5)
	if err := s.DeleteRange(bg, "a", 1, 2); err != nil {
		t.Fatal(err)
	}
	app("gone", 1, 2)
	if err := s.DeleteRange(bg, "gone", 0, persistence.MaxSeq); err != nil {
		t.Fatal(err)
	}
	for _, snap := range []struct {
		id  string
		seq uint64
	}{{"ab", 4}, {"ab", 8}, {"a", 3}, {"only-snapshots", 7}, {"aa", 1}, {"zz", 2}} {
		if err := s.SaveSnapshot(bg, snap.id, snap.seq, []byte("s")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	r := openPebble(t, dir, persistence.PebbleOptions{ReadOnly: true})
	defer r.Close()
	var got []persistence.ActorInfo
	if err := r.Actors(func(a persistence.ActorInfo) error { got = append(got, a); return nil }); err != nil {
		t.Fatal(err)
	}
	// Key order: shorter ids first, then bytewise.
	want := []persistence.ActorInfo{
		{ID: "a", HighestSeq: 5, Events: 3, FirstSeq: 3, SnapshotSeq: 3},
		{ID: "b", HighestSeq: 3, Events: 3, FirstSeq: 1},
		{ID: "aa", SnapshotSeq: 1},
		{ID: "ab", HighestSeq: 10, Events: 10, FirstSeq: 1, SnapshotSeq: 8},
		{ID: "zz", SnapshotSeq: 2},
		{ID: "gone", HighestSeq: 2},
		{ID: "only-snapshots", SnapshotSeq: 7},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Actors:\n got %+v\nwant %+v", got, want)
	}

	stop := errors.New("stop")
	n := 0
	if err := r.Actors(func(persistence.ActorInfo) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("Actors with a failing callback: %v after %d calls", err, n)
	}
}

// Pebble prints WAL recovery details through its logger on every open;
// none of that may reach the node's logs or stderr.
func TestPebbleQuietLogger(t *testing.T) {
	var stdlog bytes.Buffer
	log.SetOutput(&stdlog)
	defer log.SetOutput(os.Stderr)
	var slogBuf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&slogBuf, nil))

	dir := t.TempDir()
	for round := range 3 {
		s := openPebble(t, dir, persistence.PebbleOptions{Logger: logger})
		if err := s.Append(bg, "a", uint64(round+1), [][]byte{[]byte("x")}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if stdlog.Len() != 0 || slogBuf.Len() != 0 {
		t.Fatalf("opening and closing logged:\nlog: %s\nslog: %s", stdlog.String(), slogBuf.String())
	}
}

// Close while appends are running: each append either succeeds (and is
// then durable) or fails with ErrClosed; nothing panics on a closed DB.
func TestPebbleCloseDuringAppends(t *testing.T) {
	dir := t.TempDir()
	s := openPebble(t, dir, persistence.PebbleOptions{})
	const writers = 8
	var acked [writers]atomic.Uint64
	var started sync.WaitGroup
	started.Add(writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			answered := sync.OnceFunc(started.Done)
			id := fmt.Sprintf("w%d", w)
			for seq := uint64(1); ; seq++ {
				err := s.Append(bg, id, seq, [][]byte{[]byte(id)})
				answered()
				if errors.Is(err, persistence.ErrClosed) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				acked[w].Store(seq)
			}
		})
	}
	started.Wait() // every writer has had at least one append answered
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	s = openPebble(t, dir, persistence.PebbleOptions{})
	defer s.Close()
	for w := range writers {
		h, err := s.HighestSeq(bg, fmt.Sprintf("w%d", w))
		if err != nil {
			t.Fatal(err)
		}
		if a := acked[w].Load(); h != a {
			t.Errorf("writer %d: highest %d after reopen, %d acknowledged", w, h, a)
		}
	}
}
