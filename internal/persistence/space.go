package persistence

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Pebble cannot survive a full disk: a failed WAL write makes DB.Apply call
// Logger.Fatalf ("fatal commit error"), since its commit pipeline is then
// in an unknown state. So a node must stop writing before the disk is full,
// not after. SpaceGuard watches the free space of the data directory's
// file system (statfs, every second, after a failed write and after every
// sixteenth of the reserve written; lowered between samples by what the
// node writes) against a reserve:
//
//   - below the reserve (SpaceLow), new data is refused: pushes answer
//     SYSTEM_ERROR, admin writes 507. Acks (sync points), deletes, trims
//     and snapshots go on: they are small or free space, and the reserve
//     is what they are written into;
//   - below the floor, a quarter of the reserve (SpaceFull), the stores
//     refuse every append and snapshot too; only deletes, which free
//     space, are written, so that Pebble's WAL never meets ENOSPC.
//
// A mode is left only at a margin above where it was entered (a quarter
// of the reserve), so that a node near the line does not flap.

// SpaceMode is how much a node may write.
type SpaceMode int32

const (
	// SpaceOK: everything is written.
	SpaceOK SpaceMode = iota
	// SpaceLow: new data is refused; acks, deletes, trims and snapshots
	// are written into the reserve.
	SpaceLow
	// SpaceFull: only deletes are written.
	SpaceFull
)

func (m SpaceMode) String() string {
	switch m {
	case SpaceLow:
		return "low"
	case SpaceFull:
		return "full"
	}
	return "ok"
}

// ErrDiskLow is wrapped by the refusals of new data (SpaceLow and below).
var ErrDiskLow = errors.New("disk space low")

// ErrDiskFull is wrapped by the refusals of every write but deletes
// (SpaceFull). An error wrapping it wraps ErrDiskLow too.
var ErrDiskFull = fmt.Errorf("%w: below the floor", ErrDiskLow)

// SpaceGate is what the layers above the stores see of a SpaceGuard: the
// push path and the admin API ask it before they store new data.
type SpaceGate interface {
	// AdmitGrowth returns nil while new data may be stored, else why not
	// (wrapping ErrDiskLow); a refusal is counted.
	AdmitGrowth() error
	// Err says why new data is refused now (nil: it is not), counting
	// nothing: for health probes.
	Err() error
}

// SpaceOptions configure a SpaceGuard.
type SpaceOptions struct {
	// Dir is the directory watched, as named in messages.
	Dir string
	// Reserve is the free space below which new data is refused; 0 turns
	// the guard off.
	Reserve uint64
	// Free reports the bytes available to the process on Dir's file
	// system (statfs: FreeSpace).
	Free func() (uint64, error)
	// Logger gets one line when a mode is entered or left.
	Logger *slog.Logger
}

// SpaceGuard is a node's free-space watcher (see SpaceMode). Its methods
// are safe for concurrent use; those of a nil *SpaceGuard admit
// everything.
type SpaceGuard struct {
	opts SpaceOptions
	log  *slog.Logger

	mu   sync.Mutex // serialises mode changes and their log lines
	mode atomic.Int32
	// free is the last sample less what was written since: a burst of
	// writes between samples moves the mode without waiting for the next.
	free     atomic.Uint64
	since    atomic.Uint64 // bytes written since the last sample
	refusals atomic.Uint64
	failing  bool // the last sample failed (logged once)
}

var _ SpaceGate = (*SpaceGuard)(nil)

// NewSpaceGuard returns a guard in SpaceOK with the free space unknown
// (taken as plenty); Sample takes the first reading.
func NewSpaceGuard(opts SpaceOptions) *SpaceGuard {
	g := &SpaceGuard{opts: opts, log: opts.Logger}
	if g.log == nil {
		g.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g.free.Store(^uint64(0))
	return g
}

// floor is where SpaceFull starts; margin is how far above its entry a
// mode is left.
func (g *SpaceGuard) floor() uint64  { return g.opts.Reserve / 4 }
func (g *SpaceGuard) margin() uint64 { return g.opts.Reserve / 4 }

// nextMode is the mode after a reading of free bytes in mode cur.
func nextMode(cur SpaceMode, free, reserve uint64) SpaceMode {
	floor, margin := reserve/4, reserve/4
	switch {
	case reserve == 0:
		return SpaceOK
	case free < floor:
		return SpaceFull
	case cur == SpaceFull && free < floor+margin:
		return SpaceFull
	case free < reserve:
		return SpaceLow
	case cur != SpaceOK && free < reserve+margin:
		return SpaceLow
	}
	return SpaceOK
}

// Mode is the current mode.
func (g *SpaceGuard) Mode() SpaceMode {
	if g == nil {
		return SpaceOK
	}
	return SpaceMode(g.mode.Load())
}

// FreeBytes is the free space as last estimated (^uint64(0) before the
// first sample).
func (g *SpaceGuard) FreeBytes() uint64 {
	if g == nil {
		return ^uint64(0)
	}
	return g.free.Load()
}

// Reserve is the configured reserve.
func (g *SpaceGuard) Reserve() uint64 {
	if g == nil {
		return 0
	}
	return g.opts.Reserve
}

// Refusals counts the writes refused so far.
func (g *SpaceGuard) Refusals() uint64 {
	if g == nil {
		return 0
	}
	return g.refusals.Load()
}

// Err implements SpaceGate.
func (g *SpaceGuard) Err() error {
	switch m := g.Mode(); m {
	case SpaceLow:
		return fmt.Errorf("%w: %s free on %s, below the reserve of %s: new data is refused until %s are free",
			ErrDiskLow, bytesText(g.free.Load()), g.opts.Dir, bytesText(g.opts.Reserve), bytesText(g.opts.Reserve+g.margin()))
	case SpaceFull:
		return fmt.Errorf("%w: %s free on %s, below %s: only deletes are written",
			ErrDiskFull, bytesText(g.free.Load()), g.opts.Dir, bytesText(g.floor()))
	}
	return nil
}

// AdmitGrowth implements SpaceGate.
func (g *SpaceGuard) AdmitGrowth() error { return g.count(g.Err()) }

// AdmitWrite returns nil unless the guard is in SpaceFull: what the stores
// ask before an append or a snapshot (deletes are always written).
func (g *SpaceGuard) AdmitWrite() error {
	if g.Mode() != SpaceFull {
		return nil
	}
	return g.count(g.Err())
}

func (g *SpaceGuard) count(err error) error {
	if err != nil {
		g.refusals.Add(1)
	}
	return err
}

// writeAmplification is how many bytes of disk a byte written costs
// before the next sample: Pebble writes it to the WAL and, at the next
// memtable flush, once more into an sstable.
const writeAmplification = 2

// Wrote lowers the free-space estimate by what n bytes just written cost,
// and enters a stricter mode at once when the estimate crosses into one.
// Once the writes since the last sample reach a sixteenth of the reserve,
// it samples: a burst of writes cannot outrun the one-second samples by
// more than that. Only a sample leaves a mode: writes never free space.
func (g *SpaceGuard) Wrote(n int) {
	if g == nil || n <= 0 || g.opts.Reserve == 0 {
		return
	}
	cost := uint64(n) * writeAmplification
	if g.since.Add(cost) >= g.opts.Reserve/16 && g.opts.Free != nil {
		g.Sample()
		return
	}
	var free uint64
	for {
		old := g.free.Load()
		free = old - min(old, cost)
		if g.free.CompareAndSwap(old, free) {
			break
		}
	}
	if cur := g.Mode(); nextMode(cur, free, g.opts.Reserve) > cur {
		g.mu.Lock()
		g.move(nextMode(g.Mode(), g.free.Load(), g.opts.Reserve))
		g.mu.Unlock()
	}
}

// Sample reads the free space and moves to the mode it calls for. A
// failed reading keeps the mode (and is logged once until one succeeds).
func (g *SpaceGuard) Sample() {
	if g == nil || g.opts.Free == nil || g.opts.Reserve == 0 {
		return
	}
	free, err := g.opts.Free()
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		if !g.failing {
			g.log.Error("disk space: cannot read the free space; the mode stays as it is", slog.String("dir", g.opts.Dir), slog.String("mode", g.Mode().String()), slog.Any("err", err))
		}
		g.failing = true
		return
	}
	g.failing = false
	g.free.Store(free)
	g.since.Store(0)
	g.move(nextMode(g.Mode(), free, g.opts.Reserve))
}

// move sets the mode and logs the change, once per change; g.mu is held.
func (g *SpaceGuard) move(to SpaceMode) {
	from := SpaceMode(g.mode.Swap(int32(to)))
	if from == to {
		return
	}
	attrs := []any{slog.String("dir", g.opts.Dir), slog.Uint64("freeBytes", g.free.Load()), slog.Uint64("reserveBytes", g.opts.Reserve)}
	switch {
	case to == SpaceFull:
		g.log.Error("disk space low, below the floor: every write but deletes is refused", attrs...)
	case to == SpaceLow && from == SpaceOK:
		g.log.Error("disk space low, below the reserve: new data is refused (pushes answer SYSTEM_ERROR, admin writes 507); acks, deletes and trims go on", attrs...)
	case to == SpaceLow:
		g.log.Warn("disk space back above the floor: acks and snapshots are written again; new data is still refused", attrs...)
	default:
		g.log.Warn("disk space recovered: new data is accepted again", attrs...)
	}
}

// Run samples every interval until stop is closed.
func (g *SpaceGuard) Run(stop <-chan struct{}, every time.Duration) {
	if g == nil || g.opts.Free == nil || g.opts.Reserve == 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			g.Sample()
		}
	}
}

// bytesText writes n in MiB with one decimal.
func bytesText(n uint64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
