package client

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if st, err := loadState(path); err != nil || st.DeviceID != "" || len(st.SyncPoints) != 0 {
		t.Fatalf("missing file: %+v, %v; want an empty state", st, err)
	}
	want := state{DeviceID: "dev-1", UserID: "alice", SyncPoints: map[string]uint64{"CHAT": 12, "LOCK": 1 << 60}}
	if err := saveState(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(path)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("loaded %+v, %v; want %+v", got, err, want)
	}
	// The documented file format.
	raw, _ := os.ReadFile(path)
	var doc struct {
		DeviceID   string            `json:"deviceId"`
		SyncPoints map[string]uint64 `json:"syncPoints"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.DeviceID != "dev-1" || doc.SyncPoints["CHAT"] != 12 {
		t.Fatalf("state file %s does not hold deviceId and syncPoints: %v", raw, err)
	}
}

func TestCorruptStateIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	os.WriteFile(path, []byte(`{"deviceId":"d","syncPoints":{"A":`), 0o644)
	if _, err := loadState(path); err == nil {
		t.Fatal("a truncated state file loaded without error")
	}
	if _, err := New(Options{Server: "http://127.0.0.1:1", InstanceID: "ws_A", StateFile: path}); err == nil {
		t.Fatal("New accepted a corrupt state file (it would lose the sync points)")
	}
}

// A reader never sees a partly written state file, and no temporary file
// is left behind.
func TestStateSaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	big := func(n int) state {
		st := state{DeviceID: "dev", SyncPoints: map[string]uint64{}}
		for i := range 2000 {
			st.SyncPoints[fmt.Sprintf("BIZ-%d", i)] = uint64(n)
		}
		return st
	}
	if err := saveState(path, big(0)); err != nil {
		t.Fatal(err)
	}
	const saves = 100
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	reads, bad := 0, ""
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			b, err := os.ReadFile(path)
			reads++
			var st state
			if err != nil || json.Unmarshal(b, &st) != nil || len(st.SyncPoints) != 2000 {
				bad = fmt.Sprintf("read %d bytes (err %v) that are not a whole state", len(b), err)
				return
			}
		}
	}()
	for i := 1; i <= saves; i++ {
		if err := saveState(path, big(i)); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if bad != "" {
		t.Fatalf("after %d reads: %s", reads, bad)
	}
	got, err := loadState(path)
	if err != nil || got.SyncPoints["BIZ-7"] != saves {
		t.Fatalf("final state %v, %v; want every point at %d", got.SyncPoints["BIZ-7"], err, saves)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("the directory holds %d files, want only the state file: %v", len(entries), entries)
	}
}

func TestDeviceIDIsGeneratedSavedAndReloaded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	opts := Options{Server: "http://127.0.0.1:1", InstanceID: "ws_A", StateFile: path}
	c1, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	id := c1.SyncDeviceID()
	if id == "" {
		t.Fatal("no device id")
	}
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := loadState(path)
	if err != nil || st.DeviceID != id {
		t.Fatalf("state file holds device %q (%v), want %q", st.DeviceID, err, id)
	}
	c2, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.SyncDeviceID() != id {
		t.Fatalf("second client has device %q, want the saved %q", c2.SyncDeviceID(), id)
	}
	// In memory only: a new id each time.
	m1, _ := New(Options{Server: "http://127.0.0.1:1", InstanceID: "ws_A"})
	m2, _ := New(Options{Server: "http://127.0.0.1:1", InstanceID: "ws_A"})
	defer m1.Close()
	defer m2.Close()
	if m1.SyncDeviceID() == m2.SyncDeviceID() {
		t.Fatalf("two clients without state share the device id %q", m1.SyncDeviceID())
	}
	// An explicit DeviceID wins and is saved.
	opts.DeviceID = "phone-1"
	c3, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	c3.Close()
	if st, _ := loadState(path); c3.SyncDeviceID() != "phone-1" || st.DeviceID != "phone-1" {
		t.Fatalf("explicit device id: client %q, file %q", c3.SyncDeviceID(), st.DeviceID)
	}
}
