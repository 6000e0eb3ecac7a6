package persistence

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

const mib = 1 << 20

func TestNextMode(t *testing.T) {
	const reserve = 100 * mib // floor 25 MiB, margin 25 MiB
	for _, tc := range []struct {
		name string
		cur  SpaceMode
		free uint64
		want SpaceMode
	}{
		{"plenty", SpaceOK, 500 * mib, SpaceOK},
		{"at the reserve", SpaceOK, reserve, SpaceOK},
		{"just below the reserve", SpaceOK, reserve - 1, SpaceLow},
		{"straight below the floor", SpaceOK, 10 * mib, SpaceFull},
		{"low stays low inside the margin", SpaceLow, reserve + 24*mib, SpaceLow},
		{"low is left above the margin", SpaceLow, reserve + 25*mib, SpaceOK},
		{"low to full", SpaceLow, 25*mib - 1, SpaceFull},
		{"full stays full inside the margin", SpaceFull, 49 * mib, SpaceFull},
		{"full to low above the margin", SpaceFull, 50 * mib, SpaceLow},
		{"full to ok when everything is freed", SpaceFull, 400 * mib, SpaceOK},
		{"full to low, not ok, inside low's margin", SpaceFull, reserve + 10*mib, SpaceLow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextMode(tc.cur, tc.free, reserve); got != tc.want {
				t.Fatalf("nextMode(%v, %d MiB) = %v, want %v", tc.cur, tc.free/mib, got, tc.want)
			}
		})
	}
	if got := nextMode(SpaceOK, 0, 0); got != SpaceOK {
		t.Fatalf("a reserve of 0 turns the guard off, got %v", got)
	}
}

// fakeDisk is a free-space source the test sets.
type fakeDisk struct {
	mu   sync.Mutex
	free uint64
	err  error
}

func (d *fakeDisk) set(free uint64, err error) {
	d.mu.Lock()
	d.free, d.err = free, err
	d.mu.Unlock()
}

func (d *fakeDisk) read() (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.free, d.err
}

// logLines is a logger that keeps what it was given.
func logLines() (*slog.Logger, func() []string) {
	var mu sync.Mutex
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	return l, func() []string {
		mu.Lock()
		defer mu.Unlock()
		s := strings.TrimSpace(buf.String())
		if s == "" {
			return nil
		}
		return strings.Split(s, "\n")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestSpaceGuardEpisodes(t *testing.T) {
	disk := &fakeDisk{free: 1000 * mib}
	logger, lines := logLines()
	g := NewSpaceGuard(SpaceOptions{Dir: "/data", Reserve: 100 * mib, Free: disk.read, Logger: logger})

	type step struct {
		name      string
		free      uint64 // what the disk has now
		sample    bool   // sampled (else: wrote, and the disk is not read unless the writes make it)
		wrote     int
		wantMode  SpaceMode
		wantLines int // log lines so far
	}
	for _, s := range []step{
		{name: "plenty", free: 1000 * mib, sample: true, wantMode: SpaceOK},
		{name: "falls below the reserve", free: 90 * mib, sample: true, wantMode: SpaceLow, wantLines: 1},
		{name: "stays low: no new line per sample", free: 80 * mib, sample: true, wantMode: SpaceLow, wantLines: 1},
		{name: "near the floor", free: 26 * mib, sample: true, wantMode: SpaceLow, wantLines: 1},
		{name: "a write crosses the floor between samples (it costs twice its size)", free: 26 * mib, wrote: 1 * mib, wantMode: SpaceFull, wantLines: 2},
		{name: "a delete freed a little: still full", free: 30 * mib, sample: true, wantMode: SpaceFull, wantLines: 2},
		{name: "above the floor's margin: low again", free: 60 * mib, sample: true, wantMode: SpaceLow, wantLines: 3},
		{name: "inside low's margin: still low", free: 110 * mib, sample: true, wantMode: SpaceLow, wantLines: 3},
		{name: "space freed: ok", free: 300 * mib, sample: true, wantMode: SpaceOK, wantLines: 4},
		{name: "a small write far above the reserve changes nothing", free: 300 * mib, wrote: 1 * mib, wantMode: SpaceOK, wantLines: 4},
		{name: "a burst of writes (a sixteenth of the reserve) makes it read the disk", free: 20 * mib, wrote: 4 * mib, wantMode: SpaceFull, wantLines: 5},
	} {
		disk.set(s.free, nil)
		if s.sample {
			g.Sample()
		} else {
			g.Wrote(s.wrote)
		}
		if g.Mode() != s.wantMode || len(lines()) != s.wantLines {
			t.Fatalf("%s: mode %v with %d log lines, want %v with %d:\n%s", s.name, g.Mode(), len(lines()), s.wantMode, s.wantLines, strings.Join(lines(), "\n"))
		}
	}
}

func TestSpaceGuardAdmits(t *testing.T) {
	disk := &fakeDisk{}
	g := NewSpaceGuard(SpaceOptions{Dir: "/data", Reserve: 100 * mib, Free: disk.read})
	for _, tc := range []struct {
		free                 uint64
		growthErr, writeErr  error
		refusalsAfterBothAsk uint64
	}{
		{free: 500 * mib},
		{free: 50 * mib, growthErr: ErrDiskLow, refusalsAfterBothAsk: 1},
		{free: 5 * mib, growthErr: ErrDiskFull, writeErr: ErrDiskFull, refusalsAfterBothAsk: 3},
	} {
		disk.set(tc.free, nil)
		g.Sample()
		if err := g.Err(); !errors.Is(err, tc.growthErr) || (err == nil) != (tc.growthErr == nil) {
			t.Fatalf("%d MiB free: Err() = %v, want %v", tc.free/mib, err, tc.growthErr)
		}
		if err := g.AdmitGrowth(); !errors.Is(err, tc.growthErr) || (err == nil) != (tc.growthErr == nil) {
			t.Fatalf("%d MiB free: AdmitGrowth() = %v, want %v", tc.free/mib, err, tc.growthErr)
		}
		if err := g.AdmitWrite(); !errors.Is(err, tc.writeErr) || (err == nil) != (tc.writeErr == nil) {
			t.Fatalf("%d MiB free: AdmitWrite() = %v, want %v", tc.free/mib, err, tc.writeErr)
		}
		if g.Refusals() != tc.refusalsAfterBothAsk {
			t.Fatalf("%d MiB free: %d refusals counted, want %d", tc.free/mib, g.Refusals(), tc.refusalsAfterBothAsk)
		}
	}
	if err := g.Err(); !errors.Is(err, ErrDiskLow) || !strings.Contains(err.Error(), "/data") {
		t.Fatalf("a full disk's error wraps ErrDiskLow too and names the directory: %v", err)
	}
}

func TestSpaceGuardKeepsModeWhenReadingFails(t *testing.T) {
	disk := &fakeDisk{free: 10 * mib}
	logger, lines := logLines()
	g := NewSpaceGuard(SpaceOptions{Dir: "/data", Reserve: 100 * mib, Free: disk.read, Logger: logger})
	g.Sample()
	if g.Mode() != SpaceFull {
		t.Fatalf("mode %v", g.Mode())
	}
	disk.set(0, errors.New("statfs: input/output error"))
	g.Sample()
	g.Sample()
	if g.Mode() != SpaceFull || len(lines()) != 2 {
		t.Fatalf("after failed readings: mode %v, %d log lines (want full, 2: the episode and one failure)", g.Mode(), len(lines()))
	}
}

func TestNilAndDisabledSpaceGuardAdmitEverything(t *testing.T) {
	var nilGuard *SpaceGuard
	off := NewSpaceGuard(SpaceOptions{Reserve: 0, Free: func() (uint64, error) { return 0, nil }})
	for _, g := range []*SpaceGuard{nilGuard, off} {
		g.Sample()
		g.Wrote(1 << 30)
		if g.AdmitGrowth() != nil || g.AdmitWrite() != nil || g.Mode() != SpaceOK {
			t.Fatalf("guard %p refuses", g)
		}
	}
}
