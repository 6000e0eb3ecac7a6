//go:build linux || darwin || freebsd

package persistence

import "syscall"

// FreeSpace reports the bytes of dir's file system available to an
// unprivileged process (statfs f_bavail: root's reserved blocks are not
// counted, as they are not ours to rely on).
func FreeSpace(dir string) func() (uint64, error) {
	return func() (uint64, error) {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			return 0, err
		}
		return uint64(st.Bavail) * uint64(st.Bsize), nil
	}
}
