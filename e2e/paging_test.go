package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A client that reads gets a backlog far larger than its window whole, in
// order, without gaps or duplicates, though the node hands it a few
// entries at a time as it acknowledges them: across many ack boundaries,
// around a redelivery, and across a restart of the node.
func TestPagedBacklogArrivesWholeInOrder(t *testing.T) {
	dataDir := t.TempDir()
	// A window of 16 messages and 16 KiB, shared by the user's and the
	// device's streams: pages of about 7 entries of 1 KB.
	flags := []string{"--client-window", "16", "--client-window-bytes", "16KiB", "--retry-interval", "2s"}
	srv := startServer(t, dataDir, flags...)
	const inst, user, backlog = "ws_PAGES", "u", 600
	for _, biz := range []string{"PA", "PB"} {
		putBizType(t, srv.URL, inst, biz, map[string]any{"target": "user", "multiDevice": true})
	}
	// Two bizTypes, alternating: pages cross both.
	var items []map[string]any
	var want []string
	for i := range backlog {
		id := fmt.Sprintf("m%04d", i)
		items = append(items, map[string]any{"bizType": []string{"PA", "PB"}[i%2], "linkToken": user, "thirdMsgId": id, "payload": strings.Repeat("p", 1000)})
		want = append(want, id)
	}
	var a batchAnswer
	if st := call(t, http.MethodPost, srv.URL+"/webapi/sync/batch?instanceId="+inst, map[string]any{"items": items}, &a); st != 200 || !a.Success {
		t.Fatalf("batch push: %d %+v", st, a.Msg)
	}

	t.Run("a client that acknowledges everything", func(t *testing.T) {
		c := connectClient(t, srv.URL, inst, clientSpec{user: user, device: "d1", biz: []string{"PA", "PB"}, report: true})
		c.expect(t, want...)
	})

	t.Run("a client that leaves one entry unacknowledged gets it again, and the rest in order", func(t *testing.T) {
		w := dialWire(t, srv.URL, &opsyncpb.Connect{InstanceId: inst, UserId: user, DeviceId: "d2",
			BizTypes: []*opsyncpb.SyncPoint{{BizType: "PA"}, {BizType: "PB"}}})
		const skipped = "m0005"
		var first []string
		seen := map[string]int{}
		for len(first) < backlog || seen[skipped] < 2 {
			f := w.read(t)
			var acks []*opsyncpb.SyncPoint
			for _, m := range f.GetDeliver().GetMessages() {
				if seen[m.ThirdMsgId]++; seen[m.ThirdMsgId] == 1 {
					first = append(first, m.ThirdMsgId)
				}
				if m.ThirdMsgId != skipped || seen[skipped] > 1 {
					acks = append(acks, &opsyncpb.SyncPoint{BizType: m.BizType, OplogId: m.OplogId})
				}
			}
			if len(acks) > 0 {
				w.send(t, &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Ack{Ack: &opsyncpb.Ack{Received: acks}}})
			}
		}
		if !slices.Equal(first, want) {
			t.Fatalf("first deliveries out of order or incomplete: %d of %d, first difference at %d", len(first), backlog, firstDiff(first, want))
		}
		for id, n := range seen {
			if n > 1 && id != skipped {
				t.Fatalf("%s delivered %d times, though acknowledged at once", id, n)
			}
		}
	})

	t.Run("a client that resumes after a restart of the node", func(t *testing.T) {
		state := filepath.Join(t.TempDir(), "state.json")
		args := []string{"--user", user, "--device", "d3", "--biz", "PA", "--biz", "PB", "--state", state}
		p := startTail(t, srv.URL, inst, args...)
		var got []string
		for len(got) < backlog/3 {
			select {
			case l := <-p.lines:
				got = append(got, l.ThirdMsgID)
			case <-time.After(time.Minute):
				t.Fatalf("tail printed %d lines", len(got))
			}
		}
		srv.kill9() // mid-backlog
		// tail keeps what it printed and acknowledged in its state file.
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		for l := range p.lines {
			got = append(got, l.ThirdMsgID)
		}
		srv = startServer(t, dataDir, flags...)
		rest := startTail(t, srv.URL, inst, append(args, "--count", fmt.Sprint(backlog-len(got)))...).collect(t, time.Minute)
		for _, l := range rest {
			got = append(got, l.ThirdMsgID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("before and after the restart: %d messages, first difference at %d", len(got), firstDiff(got, want))
		}
	})
}

// firstDiff is the first index where got and want differ.
func firstDiff(got, want []string) int {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return i
		}
	}
	return min(len(got), len(want))
}
