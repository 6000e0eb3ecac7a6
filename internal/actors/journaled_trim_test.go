package actors

import (
	"context"
	"fmt"
	"testing"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
	"google.golang.org/protobuf/proto"
)

func TestTrimRanges(t *testing.T) {
	cases := []struct {
		name     string
		keep     []uint64
		done, to uint64
		want     string
	}{
		{name: "nothing kept: all below the snapshot", to: 9, want: "[{1 9}]"},
		{name: "nothing kept, some trimmed before: one range from 1 still", done: 5, to: 9, want: "[{1 9}]"},
		{name: "nothing new", done: 9, to: 9, want: "[]"},
		{name: "what lies between kept seqs", keep: []uint64{3, 4, 7}, to: 9, want: "[{1 2} {5 6} {8 9}]"},
		{name: "a kept seq at either end", keep: []uint64{1, 9}, to: 9, want: "[{2 8}]"},
		{name: "kept seqs above the snapshot do not count", keep: []uint64{2, 12}, to: 9, want: "[{1 1} {3 9}]"},
		{name: "an old kept seq and a long tail trimmed before", keep: []uint64{1}, done: 100, to: 200, want: "[{2 200}]"},
		{name: "only the gaps above an earlier trim", keep: []uint64{3, 50, 120, 150}, done: 100, to: 200, want: "[{51 119} {121 149} {151 200}]"},
		{name: "a gap reaching above an earlier trim goes whole", keep: []uint64{3, 150}, done: 100, to: 200, want: "[{4 149} {151 200}]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := trimRanges(c.keep, c.done, c.to)
			if got == nil {
				got = []persistence.SeqRange{}
			}
			if s := fmt.Sprint(got); s != c.want {
				t.Fatalf("trimRanges(%v, %d, %d) = %s, want %s", c.keep, c.done, c.to, s, c.want)
			}
		})
	}
}

// A stream that retains one old entry while its clients acknowledge many
// newer things keeps that entry and the events after its latest snapshot:
// not every sync point since the entry.
func TestStreamJournalStaysSmallUnderAcks(t *testing.T) {
	const acks, every = 100_000, 10_000
	h := newStreamTest(t, aliceUser, func(d *Deps) { d.SnapshotEvery = every })
	kept := h.pushOK(entry("A", "kept"))[0]
	for i := range acks {
		// Every device's first ack of the entry is a sync point: one event.
		h.system.Root.Send(h.pid, &opsyncpb.AckSyncPoints{DeviceId: fmt.Sprint("d", i), Points: map[string]uint64{"A": kept}})
	}
	highest := func() uint64 {
		seq, _ := h.store.HighestSeq(context.Background(), h.journal)
		return seq
	}
	// Each step of progress within the store's wait, not the whole run (a
	// loaded machine takes seconds).
	for written := uint64(every); written < 1+acks; written += every {
		h.store.await(t, fmt.Sprint(written, " events written"), func() bool { return highest() >= written })
	}
	h.store.await(t, "every sync point written, and the journal trimmed at the last snapshot", func() bool {
		if highest() < 1+acks { // the cheap check first: events decodes the journal
			return false
		}
		snap := h.store.snapshotSeq(t, h.journal)
		return snap > 0 && len(h.events()) == 1+int(highest()-snap)
	})
	// Below the last snapshot only the entry is left; after it, the events
	// since: fewer than SnapshotEvery (and a batch), or, the state being
	// large (100,000 devices' sync points), no more bytes than the
	// snapshot itself (and a batch): snapshots are amortized over as many
	// bytes of events as they weigh (journaled.go, snapshotDue).
	snap, data, _, err := h.store.MemStore.LoadSnapshot(context.Background(), h.journal, persistence.MaxSeq)
	if err != nil {
		t.Fatal(err)
	}
	tail, tailBytes := 0, 0
	for _, e := range h.events() {
		if e.seq > snap {
			tail++
			tailBytes += proto.Size(e.ev)
		}
	}
	if tail >= every+1024 && tailBytes > len(data)+64<<10 {
		t.Fatalf("the last snapshot (%d bytes) is at %d of %d events; the %d events after it weigh %d bytes", len(data), snap, 1+acks, tail, tailBytes)
	}
	if len(h.events()) != 1+tail {
		t.Fatalf("%d events in the journal: the entry and the %d after the last snapshot expected", len(h.events()), tail)
	}
	// The entry is still read from the journal.
	p := h.probe("new")
	p.subscribe(map[string]uint64{"A": 0})
	p.expect(kept)
}

// Snapshots are amortized: one is due after SnapshotEvery events and as
// many bytes of events as the snapshot before it weighed. A stream whose
// snapshot is large (many retained entries) takes them further apart than
// SnapshotEvery; what they write stays within what its events wrote.
func TestSnapshotsAmortizedOverTheirSize(t *testing.T) {
	const every, entries = 10, 400
	h := newStreamTest(t, aliceUser, func(d *Deps) { d.SnapshotEvery = every })
	for i := range entries {
		h.pushOK(entry("A", fmt.Sprint("m", i)))
	}
	snaps := h.store.snapshotsOf(h.journal)
	if len(snaps) == 0 {
		t.Fatal("no snapshot after 400 events")
	}
	if snaps[0].seq != every {
		t.Fatalf("the first snapshot is at seq %d, want %d (SnapshotEvery, nothing to amortize yet)", snaps[0].seq, every)
	}
	eventBytes := 0
	for _, e := range h.events() {
		eventBytes += proto.Size(e.ev)
	}
	snapBytes := 0
	for i, c := range snaps {
		snapBytes += c.bytes
		if i > 0 && c.seq-snaps[i-1].seq < every {
			t.Fatalf("snapshots at %d and %d: fewer than SnapshotEvery events apart", snaps[i-1].seq, c.seq)
		}
	}
	// Every snapshot weighs at most the events since the one before it:
	// the sum is at most the events' bytes (the last snapshot's events
	// included, since it is not amortized yet).
	if snapBytes > eventBytes+snaps[len(snaps)-1].bytes {
		t.Fatalf("%d snapshots wrote %d bytes for %d bytes of events", len(snaps), snapBytes, eventBytes)
	}
	// With a snapshot every SnapshotEvery events, 40 snapshots of a growing
	// index would have been written; amortized, far fewer.
	if len(snaps) >= entries/every/2 {
		t.Fatalf("%d snapshots for %d events with SnapshotEvery %d: not amortized over their size", len(snaps), entries, every)
	}
	t.Logf("%d snapshots (%d bytes) for %d events (%d bytes)", len(snaps), snapBytes, entries, eventBytes)
}
