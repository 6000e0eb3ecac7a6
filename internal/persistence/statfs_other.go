//go:build !(linux || darwin || freebsd)

package persistence

// FreeSpace is nil where statfs is not available: the guard is off there.
func FreeSpace(dir string) func() (uint64, error) { return nil }
