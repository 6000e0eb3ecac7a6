package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsync/opsync/internal/persistence"
)

// disk is the node's free-space guard the disk metrics read (nil before
// WatchDisk: they read as a guard that admits everything).
var disk atomic.Pointer[persistence.SpaceGuard]

// WatchDisk makes the disk metrics read g (the last call wins: a process
// runs one node).
func WatchDisk(g *persistence.SpaceGuard) { disk.Store(g) }

var (
	// DiskFull is the guard's mode: 0 everything is written, 1 new data
	// is refused (below the reserve), 2 only deletes are written (below
	// the floor).
	DiskFull = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "opsync_disk_full", Help: "Disk space mode of the data directory: 0 ok, 1 below the reserve (new data refused), 2 below the floor (only deletes written).",
	}, func() float64 { return float64(disk.Load().Mode()) })
	// DiskFree is the free space of the data directory's file system as
	// the guard last estimated it.
	DiskFree = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "opsync_disk_free_bytes", Help: "Free space of the data directory's file system, as last estimated (statfs, less what was written since).",
	}, func() float64 { return float64(disk.Load().FreeBytes()) })
	// DiskRefusals counts writes refused for want of disk space: pushes,
	// admin writes, journal appends and snapshots.
	DiskRefusals = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "opsync_disk_refusals_total", Help: "Writes refused for want of disk space (pushes, admin writes, journal appends and snapshots).",
	}, func() float64 { return float64(disk.Load().Refusals()) })
)
