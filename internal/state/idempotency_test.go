package state

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// at is an event at time ms.
func at(ms int64, ev *opsyncpb.Event) *opsyncpb.Event { ev.Time = ms; return ev }

// pushed is an entry appended at ms whose key is kept until keyUntil and
// which is deleted at deleteAfter (0: the key's time).
func pushed(biz, msg string, ms, keyUntil, deleteAfter int64) *opsyncpb.Event {
	if deleteAfter == 0 {
		deleteAfter = keyUntil
	}
	return at(ms, &opsyncpb.Event{Kind: &opsyncpb.Event_EntryAppended{EntryAppended: &opsyncpb.Entry{
		BizType: biz, ThirdMsgId: msg, PushTime: ms, KeepKeyUntil: keyUntil, DeleteAfter: deleteAfter}}})
}

// removal is the removal event a stream writes for ids of s.
func removal(s *Stream, ms int64, reason opsyncpb.RemovalReason, ids ...uint64) *opsyncpb.Event {
	return at(ms, &opsyncpb.Event{Kind: &opsyncpb.Event_EntriesRemoved{EntriesRemoved: &opsyncpb.EntriesRemoved{
		OplogIds: ids, Reason: reason, Entries: s.Removing(ids)}}})
}

// A removed entry's key is kept for its retention period, whatever
// removed it; then a repeat is a new push.
func TestStreamKeyOutlivesItsEntry(t *testing.T) {
	for _, reason := range []opsyncpb.RemovalReason{
		opsyncpb.RemovalReason_REMOVAL_REASON_THRESHOLD,
		opsyncpb.RemovalReason_REMOVAL_REASON_EXPIRED,
		opsyncpb.RemovalReason_REMOVAL_REASON_RETRIES_EXHAUSTED,
		opsyncpb.RemovalReason_REMOVAL_REASON_RETENTION,
	} {
		t.Run(reason.String(), func(t *testing.T) {
			s := NewStream()
			mustApply(t, s, 1, pushed("A", "m1", 0, 30*day, day)) // valid for a day, kept 30
			mustApply(t, s, 2, removal(s, day, reason, 1))
			for _, tc := range []struct {
				now  int64
				want bool
			}{{day, true}, {30*day - 1, true}, {30 * day, false}} {
				if id, dup := s.Duplicate("A", "m1", tc.now); dup != tc.want || (dup && id != 1) {
					t.Errorf("Duplicate at %d = %d,%v; want 1,%v", tc.now, id, dup, tc.want)
				}
			}
			if _, dup := s.Duplicate("B", "m1", day); dup {
				t.Error("another bizType's key matched")
			}
		})
	}
}

// A retained entry's key holds while the entry does, even past the key's
// time (its removal has not been written yet).
func TestStreamKeyOfARetainedEntryHolds(t *testing.T) {
	s := NewStream()
	mustApply(t, s, 1, pushed("A", "m1", 0, day, 0))
	if id, dup := s.Duplicate("A", "m1", 2*day); !dup || id != 1 {
		t.Fatalf("Duplicate of a retained entry past its key's time = %d,%v; want 1,true", id, dup)
	}
}

// The state a replay builds after the removed entries' records were
// deleted (their EntryAppended events gone) has the same keys and counts
// as the state that saw every event; so does a snapshot of either.
func TestStreamReplayWithoutRemovedRecords(t *testing.T) {
	live := NewStream()
	evs := map[uint64]*opsyncpb.Event{}
	apply := func(seq uint64, ev *opsyncpb.Event) {
		t.Helper()
		evs[seq] = ev
		mustApply(t, live, seq, ev)
	}
	apply(1, pushed("A", "m1", 0, 30*day, 0))
	apply(2, pushed("A", "m2", day, 31*day, 0))
	apply(3, at(day, &opsyncpb.Event{Kind: &opsyncpb.Event_SyncPointAdvanced{SyncPointAdvanced: &opsyncpb.SyncPointAdvanced{DeviceId: "d1", BizType: "A", OplogId: 2, Arrivals: 2}}}))
	apply(4, removal(live, 2*day, opsyncpb.RemovalReason_REMOVAL_REASON_THRESHOLD, 1, 2))
	apply(5, pushed("A", "m3", 2*day, 32*day, 0))

	replayed := NewStream()
	for seq := uint64(1); seq <= 5; seq++ {
		if seq == 1 || seq == 2 {
			continue // range-deleted after the removal
		}
		mustApply(t, replayed, seq, evs[seq])
	}
	for name, s := range map[string]*Stream{"live": live, "replayed": replayed, "restored": RestoreStream(roundTrip(t, live.Snapshot()))} {
		for _, msg := range []string{"m1", "m2", "m3"} {
			if _, dup := s.Duplicate("A", msg, 3*day); !dup {
				t.Errorf("%s: %s is not a duplicate", name, msg)
			}
		}
		if p, a := s.Counts(0); p != 3 || a != 2 {
			t.Errorf("%s: counts %d pushes, %d arrivals; want 3, 2", name, p, a)
		}
	}
	if !proto.Equal(live.Snapshot(), replayed.Snapshot()) {
		t.Fatalf("the replay differs:\n%v\n%v", live.Snapshot(), replayed.Snapshot())
	}
}

func roundTrip(t *testing.T, snap *opsyncpb.StreamSnapshot) *opsyncpb.StreamSnapshot {
	t.Helper()
	b, err := proto.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	out := &opsyncpb.StreamSnapshot{}
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Keys past their time are freed at the next sweep (an hour of event time
// later); over the bound, the oldest keys of removed entries go, never a
// retained entry's.
func TestStreamKeysBound(t *testing.T) {
	t.Run("swept by time", func(t *testing.T) {
		s := NewStream()
		mustApply(t, s, 1, pushed("A", "old", 0, day, 0))
		mustApply(t, s, 2, removal(s, day, opsyncpb.RemovalReason_REMOVAL_REASON_EXPIRED, 1))
		mustApply(t, s, 3, pushed("A", "new", day+keySweepEvery, 30*day, 0))
		if n := s.KeyCount(); n != 1 {
			t.Fatalf("%d keys after the sweep, want 1 (the expired one freed)", n)
		}
	})
	t.Run("the oldest removed keys go at the bound", func(t *testing.T) {
		s := NewStream()
		mustApply(t, s, 1, pushed("KEEP", "retained", 0, 0, 0)) // never removed
		seq := uint64(1)
		for i := 0; i < MaxRetiredKeys+2; i++ {
			seq++
			mustApply(t, s, seq, pushed("A", fmt.Sprint(i), 0, 0, 0))
			seq++
			mustApply(t, s, seq, removal(s, 0, opsyncpb.RemovalReason_REMOVAL_REASON_THRESHOLD, seq-1))
		}
		// Over the bound at the last push (checked as keys are added): the
		// oldest tenth of the bound and one went.
		if n, want := s.KeyCount(), 1+MaxRetiredKeys*9/10+1; n != want {
			t.Fatalf("%d keys, want %d", n, want)
		}
		for msg, want := range map[string]bool{"0": false, fmt.Sprint(MaxRetiredKeys / 10): false, fmt.Sprint(MaxRetiredKeys): true} {
			if _, dup := s.Duplicate("A", msg, 0); dup != want {
				t.Errorf("Duplicate(%s) = %v, want %v", msg, dup, want)
			}
		}
		if _, dup := s.Duplicate("KEEP", "retained", 0); !dup {
			t.Error("a retained entry's key went")
		}
	})
}

// A snapshot written before streams kept keys beyond their entries has
// none: the retained entries' keys are rebuilt from its entries.
func TestStreamRestoresKeysOfAnOlderSnapshot(t *testing.T) {
	r := RestoreStream(&opsyncpb.StreamSnapshot{LastSeq: 1, Entries: []*opsyncpb.EntryRef{{OplogId: 1, BizType: "A", ThirdMsgId: "m1", DeleteAfter: day}}})
	if id, dup := r.Duplicate("A", "m1", day+1); !dup || id != 1 {
		t.Fatalf("Duplicate = %d,%v; want 1,true (the entry is retained)", id, dup)
	}
	if n := r.KeyCount(); n != 1 {
		t.Fatalf("%d keys, want 1", n)
	}
}
