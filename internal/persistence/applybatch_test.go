package persistence_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/opsync/opsync/internal/persistence"
)

// The seq check of an apply batch counts the batch's own earlier appends,
// a refused append writes nothing, and metadata stays out of listings.
func TestApplyBatch(t *testing.T) {
	ctx := context.Background()
	s := openPebble(t, t.TempDir(), persistence.PebbleOptions{})
	defer s.Close()

	b, err := s.NewApplyBatch()
	if err != nil {
		t.Fatal(err)
	}
	// Closed before the store on every way out: an open batch holds off
	// the store's Close, so a failed assertion would otherwise hang.
	defer b.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.Append("a", 1, [][]byte{[]byte("a1"), []byte("a2")}))
	must(b.Append("a", 3, [][]byte{[]byte("a3")}))
	var c *persistence.SeqConflictError
	if err := b.Append("a", 3, [][]byte{[]byte("dup")}); !errors.As(err, &c) || c.Expected != 4 || c.Got != 3 {
		t.Fatalf("append at 3 after 1..3 in the same batch: %v", err)
	}
	if err := b.Append("a", 5, nil); err == nil || persistence.IsSeqConflict(err) {
		t.Fatalf("empty append: %v", err)
	}
	must(b.SaveSnapshot("a", 2, []byte("snap")))
	must(b.DeleteRange("a", 1, 1))
	must(b.SetMeta("applied", []byte{7}))
	if h, _ := s.HighestSeq(ctx, "a"); h != 0 {
		t.Fatalf("highest %d visible before commit", h)
	}
	must(b.Commit(false))
	b.Close()

	var seqs []uint64
	h, err := s.Replay(ctx, "a", 1, persistence.MaxSeq, -1, func(seq uint64, _ []byte) error { seqs = append(seqs, seq); return nil })
	if err != nil || h != 3 || !slices.Equal(seqs, []uint64{2, 3}) {
		t.Fatalf("replay = %v highest %d, %v", seqs, h, err)
	}
	if v, found, err := s.Meta("applied"); err != nil || !found || !bytes.Equal(v, []byte{7}) {
		t.Fatalf("Meta = %v %v %v", v, found, err)
	}
	if _, found, _ := s.Meta("other"); found {
		t.Fatal("unset meta found")
	}
	var ids []string
	must(s.ActorIDs(func(id string) error { ids = append(ids, id); return nil }))
	must(s.Actors(func(a persistence.ActorInfo) error {
		if a.ID != "a" {
			t.Errorf("Actors lists %q", a.ID)
		}
		return nil
	}))
	if !slices.Equal(ids, []string{"a"}) {
		t.Fatalf("ActorIDs = %q", ids)
	}
}

// A checkpoint carries every journal key and no metadata; importing it
// replaces the target's journal keys entirely.
func TestCheckpointRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := openPebble(t, t.TempDir(), persistence.PebbleOptions{})
	defer src.Close()
	dst := openPebble(t, t.TempDir(), persistence.PebbleOptions{})
	defer dst.Close()

	for _, id := range []string{"x", "y"} {
		if err := src.Append(ctx, id, 1, [][]byte{[]byte(id + "1"), []byte(id + "2")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.SaveSnapshot(ctx, "x", 2, []byte("sx")); err != nil {
		t.Fatal(err)
	}
	if err := src.SetMetaSync("m", []byte("src")); err != nil {
		t.Fatal(err)
	}
	// Something the import must remove.
	if err := dst.Append(ctx, "stale", 1, [][]byte{[]byte("old")}); err != nil {
		t.Fatal(err)
	}

	cp, err := src.NewCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	// Writes after the checkpoint are not in it.
	if err := src.Append(ctx, "x", 3, [][]byte{[]byte("x3")}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := cp.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	cp.Close()
	if err := dst.ImportCheckpoint(&buf, map[string][]byte{"applied": []byte("9")}); err != nil {
		t.Fatal(err)
	}

	if h, _ := dst.HighestSeq(ctx, "stale"); h != 0 {
		t.Fatal("import kept a journal key the checkpoint does not have")
	}
	if h, _ := dst.HighestSeq(ctx, "x"); h != 2 {
		t.Fatalf("highest of x = %d, want 2 (the append after the checkpoint is not in it)", h)
	}
	if seq, data, found, _ := dst.LoadSnapshot(ctx, "x", persistence.MaxSeq); !found || seq != 2 || string(data) != "sx" {
		t.Fatalf("snapshot = %d %q %v", seq, data, found)
	}
	if _, found, _ := dst.Meta("m"); found {
		t.Fatal("checkpoint carried metadata")
	}
	if v, _, _ := dst.Meta("applied"); string(v) != "9" {
		t.Fatalf("imported meta = %q", v)
	}
	if err := dst.ImportCheckpoint(bytes.NewReader([]byte{5, 'j'}), nil); err == nil {
		t.Fatal("truncated checkpoint imported")
	}
	if h, _ := dst.HighestSeq(ctx, "y"); h != 2 {
		t.Fatal("a failed import changed the store")
	}
}

// The store remembers each actor's highest seq for the next append's
// check; an apply batch that appends to the actor makes it read again, so
// the check still refuses a stale seq and accepts the right one.
func TestApplyBatchAfterAppendKeepsTheSeqCheck(t *testing.T) {
	ctx := context.Background()
	s := openPebble(t, t.TempDir(), persistence.PebbleOptions{})
	defer s.Close()
	if err := s.Append(ctx, "a", 1, [][]byte{[]byte("a1")}); err != nil {
		t.Fatal(err)
	}
	b, err := s.NewApplyBatch()
	if err != nil {
		t.Fatal(err)
	}
	// Closed before the store on every way out: an open batch holds off
	// the store's Close, so a failed assertion would otherwise hang.
	defer b.Close()
	if err := b.Append("a", 2, [][]byte{[]byte("a2")}); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	b.Close()
	var c *persistence.SeqConflictError
	if err := s.Append(ctx, "a", 2, [][]byte{[]byte("stale")}); !errors.As(err, &c) || c.Expected != 3 {
		t.Fatalf("append at 2 after the batch wrote 2: %v", err)
	}
	if err := s.Append(ctx, "a", 3, [][]byte{[]byte("a3")}); err != nil {
		t.Fatalf("append at 3: %v", err)
	}
}
