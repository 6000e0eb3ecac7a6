package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsync/opsync/client"
)

// smallVolume mounts a tmpfs of size (e.g. "48m") on a fresh directory
// and unmounts it when the test ends (after the servers started later are
// killed). Without root, or where mounting is not allowed, the test is
// skipped, unless OPSYNC_REQUIRE_TMPFS=1 or OPSYNC_REQUIRE_NETNS=1 (CI, as
// root) makes that a failure.
func smallVolume(t *testing.T, size string) string {
	t.Helper()
	required := os.Getenv("OPSYNC_REQUIRE_TMPFS") == "1" || os.Getenv("OPSYNC_REQUIRE_NETNS") == "1"
	skip := func(format string, args ...any) {
		t.Helper()
		if required {
			t.Fatalf(format, args...)
		}
		t.Skipf(format+"; set OPSYNC_REQUIRE_TMPFS=1 to make this a failure", args...)
	}
	if os.Geteuid() != 0 {
		skip("mounting a small tmpfs needs root (euid %d)", os.Geteuid())
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		skip("mount -t tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// randomText is n characters that do not compress, so that what the node
// writes is what the test pushed.
func randomText(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// A full disk does not take the node down. On a 48 MiB volume holding a
// 12 MiB filler file, with a 12 MiB reserve, pushes are refused with
// SYSTEM_ERROR before the disk is full; the node stays up, admin writes
// answer 507, /readyz and /metrics say why, the log says it once, a
// connected client still gets what is stored and its acks are kept. Once
// the filler is removed, pushes succeed again without a restart; after
// kill -9 and a restart every acknowledged push is there.
func TestDiskFullRefusesPushesAndRecovers(t *testing.T) {
	vol := smallVolume(t, "48m")
	filler := filepath.Join(vol, "filler")
	if err := os.WriteFile(filler, make([]byte, 12<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(vol, "data")
	serve := func() *server { return startServer(t, dataDir, "--disk-reserve", "12MiB") }
	srv := serve()
	const inst, bulk, note = "ws_DISK", "BULK", "NOTE"
	putBizType(t, srv.URL, inst, bulk, map[string]any{"target": "user", "multiDevice": true})
	putBizType(t, srv.URL, inst, note, map[string]any{"target": "user", "multiDevice": true})

	// alice's phone is connected throughout; it registers NOTE only once
	// the disk is low, and then receives the NOTE entries stored before.
	phone := connectClient(t, srv.URL, inst, clientSpec{user: "alice", device: "phone", biz: []string{bulk}, report: true})
	acked := map[string]uint64{} // "bizType/user/thirdMsgId" -> oplog id answered SUCCESS
	for i := range 3 {
		id := fmt.Sprintf("note-%d", i)
		acked[note+"/alice/"+id] = pushOK(t, srv.URL, inst, note, "alice", id)
	}

	// Fill the volume through batch pushes of 4000-character entries
	// until the node refuses them.
	batch := 0
	var refusal pushAnswer
	for refusal.Msg == "" {
		if batch == 60 {
			t.Fatalf("60 batches (%d MiB) stored and no refusal", 60*100*4000>>20)
		}
		var items []map[string]any
		for i := range 100 {
			items = append(items, map[string]any{"bizType": bulk, "linkToken": "bob", "thirdMsgId": fmt.Sprintf("b%d-%d", batch, i), "payload": randomText(4000)})
		}
		var ans batchAnswer
		if st := call(t, http.MethodPost, srv.URL+"/webapi/sync/batch?instanceId="+inst, map[string]any{"items": items}, &ans); st != 200 || len(ans.Results) != len(items) {
			t.Fatalf("batch %d: HTTP %d, %d results", batch, st, len(ans.Results))
		}
		for i, r := range ans.Results {
			switch r.Msg {
			case "SUCCESS":
				acked[bulk+"/bob/"+items[i]["thirdMsgId"].(string)] = r.OplogID
			case "SYSTEM_ERROR":
				refusal = r
			default:
				t.Fatalf("batch %d item %d: %+v", batch, i, r)
			}
		}
		batch++
	}
	t.Logf("refused after %d batches, %d entries stored: %s", batch, len(acked), refusal.Detail)
	if !strings.Contains(refusal.Detail, "disk space low") {
		t.Fatalf("the refusal does not say why: %+v", refusal)
	}

	// The node is up and says why it refuses.
	select {
	case <-srv.exited:
		t.Fatalf("the node exited:\n%s", srv.stderr.String())
	default:
	}
	var health map[string]any
	if st := call(t, http.MethodGet, srv.URL+"/healthz", nil, &health); st != 200 {
		t.Fatalf("healthz: %d", st)
	}
	st, a := push(t, srv.URL, inst, map[string]any{"bizType": note, "linkToken": "alice", "thirdMsgId": "while-low", "payload": "x"})
	if st != 200 || a.Success || a.Msg != "SYSTEM_ERROR" || !strings.Contains(a.Detail, "disk space low") {
		t.Fatalf("push while the disk is low: %d %+v", st, a)
	}
	var errAns struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if st := call(t, http.MethodPut, srv.URL+"/api/v1/instances/"+inst+"/biztypes/OTHER", map[string]any{}, &errAns); st != http.StatusInsufficientStorage || errAns.Error.Code != "INSUFFICIENT_STORAGE" {
		t.Fatalf("admin write while the disk is low: %d %+v", st, errAns)
	}
	var ready map[string]any
	if st := call(t, http.MethodGet, srv.URL+"/readyz", nil, &ready); st != http.StatusServiceUnavailable || ready["reason"] != "DISK_LOW" || !strings.Contains(fmt.Sprint(ready["error"]), "disk space low") {
		t.Fatalf("readyz while the disk is low: %d %v", st, ready)
	}
	if v := metricValue(t, srv.URL, "opsync_disk_full"); v < 1 {
		t.Fatalf("opsync_disk_full = %v while the disk is low", v)
	}
	if v := metricValue(t, srv.URL, "opsync_disk_refusals_total"); v < 3 {
		t.Fatalf("opsync_disk_refusals_total = %v after three refusals", v)
	}

	// What is stored is still delivered to the connected client, and its
	// acks are kept (the reserve is for them).
	if err := phone.RegisterBiz(note, func(m client.Message) { phone.msgs <- m; phone.ReportMsgReceived(m) }); err != nil {
		t.Fatal(err)
	}
	delivered := phone.expect(t, "note-0", "note-1", "note-2")
	for _, m := range delivered {
		if m.OplogID != acked[note+"/alice/"+m.ThirdMsgID] {
			t.Fatalf("delivered %s with oplog id %d, pushed as %d", m.ThirdMsgID, m.OplogID, acked[note+"/alice/"+m.ThirdMsgID])
		}
	}
	// One line when the reserve is crossed (and one more if the floor
	// is), not one per refusal.
	if n := strings.Count(srv.stderr.String(), `msg="disk space low`); n < 1 || n > 2 {
		t.Fatalf("%d log lines about the low disk, want 1 or 2 for the episode:\n%s", n, srv.stderr.String())
	}

	// Free space: the node takes pushes again, without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for call(t, http.MethodGet, srv.URL+"/readyz", nil, &ready) != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("readyz still %v 15 s after space was freed", ready)
		}
		time.Sleep(100 * time.Millisecond) // the guard reads the free space every second
	}
	acked[note+"/alice/after-free"] = pushOK(t, srv.URL, inst, note, "alice", "after-free")
	putBizType(t, srv.URL, inst, "OTHER", map[string]any{})
	if v := metricValue(t, srv.URL, "opsync_disk_full"); v != 0 {
		t.Fatalf("opsync_disk_full = %v after space was freed", v)
	}
	if !strings.Contains(srv.stderr.String(), "disk space recovered") {
		t.Fatalf("no log line says the disk recovered:\n%s", srv.stderr.String())
	}

	// kill -9 and restart: every acknowledged push is there, with its id.
	srv.kill9()
	srv = serve()
	for _, user := range []string{"alice", "bob"} {
		want := map[string]uint64{}
		for k, id := range acked {
			if parts := strings.SplitN(k, "/", 3); parts[1] == user {
				want[parts[0]+"/"+parts[2]] = id
			}
		}
		reader := connectClient(t, srv.URL, inst, clientSpec{user: user, device: "reader", biz: []string{bulk, note}, report: true})
		for len(want) > 0 {
			m := reader.next(t)
			k := m.BizType + "/" + m.ThirdMsgID
			id, ok := want[k]
			if ok && id != m.OplogID {
				t.Fatalf("%s's %s came back with oplog id %d, acknowledged as %d", user, k, m.OplogID, id)
			}
			delete(want, k)
		}
	}
}
