package actors

import (
	"context"
	"fmt"
	"testing"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
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
	if snap := h.store.snapshotSeq(t, h.journal); 1+acks-snap >= every+1024 {
		t.Fatalf("the last snapshot is at %d of %d events", snap, 1+acks)
	}
	// The entry is still read from the journal.
	p := h.probe("new")
	p.subscribe(map[string]uint64{"A": 0})
	p.expect(kept)
}
