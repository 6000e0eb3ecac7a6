package persistence_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/opsync/opsync/internal/persistence"
)

func checkFormatVersion(t *testing.T, s *persistence.PebbleStore, want uint64, wantFound bool) {
	t.Helper()
	v, found, err := persistence.FormatVersionOf(s)
	if err != nil || v != want || found != wantFound {
		t.Fatalf("format version = %d (found %v), %v; want %d (found %v)", v, found, err, want, wantFound)
	}
}

func TestFormatVersionFreshStore(t *testing.T) {
	dir := t.TempDir()
	s := openPebble(t, dir, persistence.PebbleOptions{})
	checkFormatVersion(t, s, persistence.FormatVersion, true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		s = openPebble(t, dir, persistence.PebbleOptions{ReadOnly: ro})
		checkFormatVersion(t, s, persistence.FormatVersion, true)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A store written before the version key existed has format 1: a writable
// open records that, a read-only one leaves the store as it is.
func TestFormatVersionOldStore(t *testing.T) {
	dir := t.TempDir()
	s := openPebble(t, dir, persistence.PebbleOptions{})
	if err := s.Append(bg, "a", 1, [][]byte{[]byte("one")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := persistence.RemoveFormatVersion(dir); err != nil {
		t.Fatal(err)
	}

	s = openPebble(t, dir, persistence.PebbleOptions{ReadOnly: true})
	checkFormatVersion(t, s, 0, false)
	if h, err := s.HighestSeq(bg, "a"); err != nil || h != 1 {
		t.Fatalf("HighestSeq read-only = %d, %v; want 1", h, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openPebble(t, dir, persistence.PebbleOptions{})
	checkFormatVersion(t, s, 1, true)
	if err := s.Append(bg, "a", 2, [][]byte{[]byte("two")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openPebble(t, dir, persistence.PebbleOptions{})
	defer s.Close()
	checkFormatVersion(t, s, 1, true)
	if h, err := s.HighestSeq(bg, "a"); err != nil || h != 2 {
		t.Fatalf("HighestSeq = %d, %v; want 2", h, err)
	}
}

// A store of a newer format is refused, writable or read-only, and left
// as it is: once the version is back, the data is there.
func TestFormatVersionTooNew(t *testing.T) {
	dir := t.TempDir()
	s := openPebble(t, dir, persistence.PebbleOptions{})
	if err := s.Append(bg, "a", 1, [][]byte{[]byte("one")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := persistence.SetFormatVersionForTest(dir, 99); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true, false} {
		s, err := persistence.OpenPebble(dir, persistence.PebbleOptions{ReadOnly: ro})
		if err == nil {
			s.Close()
			t.Fatalf("open (read-only %v) of a format 99 store succeeded", ro)
		}
		var tooNew *persistence.FormatTooNewError
		if !errors.As(err, &tooNew) || tooNew.Version != 99 || tooNew.Supported != persistence.FormatVersion {
			t.Fatalf("open (read-only %v) of a format 99 store: %v, want a *FormatTooNewError for 99", ro, err)
		}
		const want = "data directory format version 99 is newer than this binary supports (1): upgrade opsync"
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}

	if err := persistence.SetFormatVersionForTest(dir, persistence.FormatVersion); err != nil {
		t.Fatal(err)
	}
	s = openPebble(t, dir, persistence.PebbleOptions{})
	defer s.Close()
	if h, err := s.HighestSeq(bg, "a"); err != nil || h != 1 {
		t.Fatalf("HighestSeq after the refused opens = %d, %v; want 1", h, err)
	}
}

// A version of 0 is never written: the store is corrupt, not old.
func TestFormatVersionZero(t *testing.T) {
	dir := t.TempDir()
	if err := openPebble(t, dir, persistence.PebbleOptions{}).Close(); err != nil {
		t.Fatal(err)
	}
	if err := persistence.SetFormatVersionForTest(dir, 0); err != nil {
		t.Fatal(err)
	}
	s, err := persistence.OpenPebble(dir, persistence.PebbleOptions{})
	if err == nil || !strings.Contains(err.Error(), "corrupt format version") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("open of a store with format version 0: %v, want a corrupt-version error", err)
	}
}

func TestSetFormatVersionNeedsAStore(t *testing.T) {
	if err := persistence.SetFormatVersionForTest(t.TempDir(), 7); err == nil {
		t.Fatal("SetFormatVersionForTest created a store in an empty directory")
	}
}
