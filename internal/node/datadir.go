package node

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// The data directory holds every tenant's data and secrets: it is the
// node's own. Everything the node creates there is private to its user
// (directories 0700, files 0600): the process's umask is narrowed before
// anything is opened, which covers Pebble's and raft's files too, whose
// modes opsync does not choose.
const privateUmask = 0o077

// openDataDir creates dir (0700) and narrows the umask. A directory or
// file that other users can read already is reported, not changed: an
// operator may have chosen it (a backup group); the log line says how to
// close it.
func openDataDir(dir string, logger *slog.Logger) error {
	syscall.Umask(privateUmask)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("node: data dir: %w", err)
	}
	var open []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable entries are not ours to judge here
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if info.Mode().Perm()&privateUmask != 0 {
			open = append(open, fmt.Sprintf("%s (%04o)", path, info.Mode().Perm()))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("node: data dir: %w", err)
	}
	if len(open) > 0 {
		logger.Warn("the data directory is readable by other local users: it holds every tenant's data and secrets; run chmod -R go-rwx on it",
			"dir", dir, "entries", len(open), "first", open[0])
	}
	return nil
}
