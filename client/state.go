package client

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// state is what the state file keeps: the device id, and the sync points
// of the user they belong to (userId; a different user starts afresh).
type state struct {
	DeviceID   string            `json:"deviceId"`
	UserID     string            `json:"userId,omitempty"`
	SyncPoints map[string]uint64 `json:"syncPoints"`
}

// loadState reads path; a missing file is an empty state.
func loadState(path string) (state, error) {
	var st state
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("opsync client: state file: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("opsync client: state file %s: %w", path, err)
	}
	return st, nil
}

// saveState replaces path with st atomically: a reader (or a crash) sees
// the old file or the new one, never a mix. The caller serialises saves.
func saveState(path string, st state) error {
	if st.SyncPoints == nil {
		st.SyncPoints = map[string]uint64{}
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return fmt.Errorf("opsync client: save state: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("opsync client: save state: %w", err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// newDeviceID returns a random device id.
func newDeviceID() string {
	return rand.Text()
}
