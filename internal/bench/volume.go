package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// smallVolume is a tmpfs of a fixed size mounted as one node's data
// directory, so that a run can fill its disk without filling the
// machine's (as e2e/disk_full_test.go does for one node).
type smallVolume struct {
	dir    string
	filler string
}

// volumeUnavailable says why a tmpfs cannot be mounted here ("" : it can).
func volumeUnavailable() string {
	if os.Geteuid() != 0 {
		return fmt.Sprintf("mounting a tmpfs needs root (euid %d)", os.Geteuid())
	}
	return ""
}

// mountVolume mounts a tmpfs of size bytes on dir (created).
func mountVolume(dir string, size int64) (*smallVolume, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mount -t tmpfs on %s: %v: %s", dir, err, strings.TrimSpace(string(out)))
	}
	// The filler lives beside the node's files, on the same file system,
	// under a name the node never uses.
	return &smallVolume{dir: dir, filler: filepath.Join(dir, "bench-filler")}, nil
}

func (v *smallVolume) free() (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(v.dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * st.Bsize, nil
}

// fill appends to the filler until the volume has at most left bytes free.
func (v *smallVolume) fill(left int64) error {
	f, err := os.OpenFile(v.filler, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		free, err := v.free()
		if err != nil {
			return err
		}
		if free <= left {
			return nil
		}
		n := min(int64(len(chunk)), free-left)
		if _, err := f.Write(chunk[:n]); err != nil {
			return fmt.Errorf("writing the filler: %w", err)
		}
	}
}

// drain removes the filler.
func (v *smallVolume) drain() error {
	if err := os.Remove(v.filler); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

func (v *smallVolume) unmount() error {
	if out, err := exec.Command("umount", v.dir).CombinedOutput(); err != nil {
		return fmt.Errorf("umount %s: %v: %s", v.dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}
