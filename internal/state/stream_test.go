package state

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

func entry(biz, msg string) *opsyncpb.Event {
	return &opsyncpb.Event{Kind: &opsyncpb.Event_EntryAppended{EntryAppended: &opsyncpb.Entry{BizType: biz, ThirdMsgId: msg, Payload: "p"}}}
}

func syncPoint(dev, biz string, id uint64) *opsyncpb.Event {
	return &opsyncpb.Event{Kind: &opsyncpb.Event_SyncPointAdvanced{SyncPointAdvanced: &opsyncpb.SyncPointAdvanced{DeviceId: dev, BizType: biz, OplogId: id}}}
}

func mustApply(t *testing.T, s *Stream, seq uint64, ev *opsyncpb.Event) {
	t.Helper()
	if err := s.Apply(seq, ev); err != nil {
		t.Fatalf("apply %d: %v", seq, err)
	}
}

func TestStreamApply(t *testing.T) {
	s := NewStream()
	mustApply(t, s, 1, entry("A", "m1"))
	mustApply(t, s, 2, entry("B", "m1"))
	mustApply(t, s, 3, syncPoint("d1", "A", 1))
	mustApply(t, s, 5, entry("A", "m2")) // 4 was deleted: gaps are allowed

	if got := s.LastSeq(); got != 5 {
		t.Fatalf("LastSeq = %d, want 5", got)
	}
	if id, ok := s.Duplicate("A", "m1", 0); !ok || id != 1 {
		t.Fatalf("Duplicate(A,m1) = %d,%v; want 1,true", id, ok)
	}
	if id, ok := s.Duplicate("B", "m1", 0); !ok || id != 2 {
		t.Fatalf("Duplicate(B,m1) = %d,%v; want 2,true (keys are per bizType)", id, ok)
	}
	if _, ok := s.Duplicate("A", "m3", 0); ok {
		t.Fatal("Duplicate(A,m3) found an entry that was never pushed")
	}
	if got := s.SyncPoint("d1", "A"); got != 1 {
		t.Fatalf("SyncPoint = %d, want 1", got)
	}
	// A lower sync point never moves it back.
	mustApply(t, s, 6, syncPoint("d1", "A", 0))
	if got := s.SyncPoint("d1", "A"); got != 1 {
		t.Fatalf("SyncPoint after a lower one = %d, want 1", got)
	}
	if err := s.Apply(6, entry("A", "x")); err == nil {
		t.Fatal("applying seq 6 twice succeeded")
	}
	if err := s.Apply(7, &opsyncpb.Event{Kind: &opsyncpb.Event_InstanceCreated{InstanceCreated: &opsyncpb.InstanceCreated{}}}); err == nil {
		t.Fatal("an instance event applied to a stream")
	}
}

func TestStreamEntriesAfter(t *testing.T) {
	s := NewStream()
	for i, biz := range []string{"A", "B", "A", "C", "A", "B"} {
		mustApply(t, s, uint64(i+1), entry(biz, fmt.Sprint(i)))
	}
	ids := func(after map[string]uint64) []uint64 {
		var out []uint64
		for _, e := range s.EntriesAfter(after) {
			out = append(out, e.OplogId)
		}
		return out
	}
	for _, tc := range []struct {
		after map[string]uint64
		want  []uint64
	}{
		{map[string]uint64{"A": 0}, []uint64{1, 3, 5}},
		{map[string]uint64{"A": 3}, []uint64{5}},
		{map[string]uint64{"A": 0, "B": 2}, []uint64{1, 3, 5, 6}},
		{map[string]uint64{"B": 6}, nil},
		{map[string]uint64{"Z": 0}, nil},
		{map[string]uint64{}, nil},
	} {
		if got := ids(tc.after); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("EntriesAfter(%v) = %v, want %v", tc.after, got, tc.want)
		}
	}
}

// restored is the state s's snapshot restores, through its encoding.
func restored(t *testing.T, s *Stream) *Stream {
	t.Helper()
	b, err := proto.Marshal(s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var snap opsyncpb.StreamSnapshot
	if err := proto.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	return RestoreStream(&snap)
}

// A snapshot restores the same state that replaying the events builds.
func TestStreamSnapshotRoundTrip(t *testing.T) {
	s := NewStream()
	mustApply(t, s, 1, entry("A", "m1"))
	mustApply(t, s, 2, syncPoint("d1", "A", 1))
	mustApply(t, s, 3, syncPoint("d2", "A", 1))
	r := restored(t, s)
	mustApply(t, s, 4, entry("A", "m2"))
	mustApply(t, r, 4, entry("A", "m2"))
	if !proto.Equal(s.Snapshot(), r.Snapshot()) {
		t.Fatalf("restored state differs:\n%v\n%v", s.Snapshot(), r.Snapshot())
	}
	if _, ok := r.Duplicate("A", "m1", 0); !ok {
		t.Fatal("restored state lost an idempotency key")
	}
	if r.SyncPoint("d2", "A") != 1 {
		t.Fatal("restored state lost a sync point")
	}
}

func TestInstanceApply(t *testing.T) {
	in := NewInstance()
	if in.Exists() {
		t.Fatal("a new instance exists")
	}
	put := func(seq uint64, biz string) {
		if err := in.Apply(seq, &opsyncpb.Event{Kind: &opsyncpb.Event_BizTypePut{BizTypePut: &opsyncpb.BizTypePut{Config: &opsyncpb.BizTypeConfig{BizType: biz, Online: true}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.Apply(1, &opsyncpb.Event{Kind: &opsyncpb.Event_InstanceCreated{InstanceCreated: &opsyncpb.InstanceCreated{}}}); err != nil {
		t.Fatal(err)
	}
	put(2, "B")
	put(3, "A")
	if err := in.Apply(4, &opsyncpb.Event{Time: 99, Kind: &opsyncpb.Event_BizTypeOnlineChanged{BizTypeOnlineChanged: &opsyncpb.BizTypeOnlineChanged{BizType: "A"}}}); err != nil {
		t.Fatal(err)
	}
	if err := in.Apply(5, &opsyncpb.Event{Kind: &opsyncpb.Event_BizTypeDeleted{BizTypeDeleted: &opsyncpb.BizTypeDeleted{BizType: "B"}}}); err != nil {
		t.Fatal(err)
	}
	cs := in.Configs()
	if !in.Exists() || len(cs) != 1 || cs[0].BizType != "A" || cs[0].Online || cs[0].UpdatedAt != 99 {
		t.Fatalf("configs = %v", cs)
	}
	// Configs hands out copies: changing one does not change the state.
	cs[0].Online = true
	if c, _ := in.Config("A"); c.Online {
		t.Fatal("a returned config aliases the state")
	}
	r := RestoreInstance(in.Snapshot())
	if !proto.Equal(r.Snapshot(), in.Snapshot()) {
		t.Fatal("instance snapshot round trip differs")
	}
}
