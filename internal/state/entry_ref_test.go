package state

import (
	"testing"
	"unsafe"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// The compact index keeps every field of a retained entry: a snapshot of
// it, encoded and restored, gives the same entries and the same snapshot,
// and every entry of a bizType shares one copy of its name.
func TestStreamIndexRoundTrip(t *testing.T) {
	s := NewStream()
	evs := []*opsyncpb.Entry{
		{BizType: "A", ThirdMsgId: "m1", Payload: "hello", PushTime: 10, ValidTimeEnd: 20, DeleteAfter: 30, Threshold: 5, MaxRetries: 6},
		{BizType: "B", ThirdMsgId: "m2", BinaryPayload: []byte{1, 2}, PushTime: 11, SingleDevice: true},
		{BizType: "A", ThirdMsgId: "m3", Payload: "x", PushTime: 12, MaxRetries: 1},
	}
	for i, e := range evs {
		mustApply(t, s, uint64(2*i+1), &opsyncpb.Event{Time: e.PushTime, Kind: &opsyncpb.Event_EntryAppended{EntryAppended: e}})
	}
	mustApply(t, s, 7, &opsyncpb.Event{Time: 13, Kind: &opsyncpb.Event_EntriesRemoved{EntriesRemoved: &opsyncpb.EntriesRemoved{OplogIds: []uint64{3}}}})

	want := []Ref{
		{OplogId: 1, BizType: "A", ThirdMsgId: "m1", PushTime: 10, ValidTimeEnd: 20, DeleteAfter: 30, Threshold: 5, MaxRetries: 6, Size: EntrySize(evs[0])},
		{OplogId: 5, BizType: "A", ThirdMsgId: "m3", PushTime: 12, MaxRetries: 1, Size: EntrySize(evs[2])},
	}
	snap := s.Snapshot()
	restored := RestoreStream(roundTrip(t, snap))
	for name, st := range map[string]*Stream{"applied": s, "restored": restored} {
		got := st.EntriesAfter(map[string]uint64{"A": 0, "B": 0})
		if len(got) != len(want) {
			t.Fatalf("%s: entries %+v, want %+v", name, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: entry %d is %+v, want %+v", name, i, got[i], want[i])
			}
		}
		if r, ok := st.Entry(5); !ok || r.Proto().GetThirdMsgId() != "m3" || RefSize(r) != EntrySize(evs[2]) {
			t.Errorf("%s: Entry(5) = %+v, %v", name, r, ok)
		}
		if _, ok := st.Entry(3); ok {
			t.Errorf("%s: the removed entry 3 is still retained", name)
		}
		if a, b := st.entries[0].BizType, st.entries[1].BizType; unsafeData(a) != unsafeData(b) {
			t.Errorf("%s: two entries of bizType A hold two copies of its name", name)
		}
	}
	if !proto.Equal(restored.Snapshot(), snap) {
		t.Fatalf("the restored stream's snapshot differs:\n%v\n%v", restored.Snapshot(), snap)
	}
	// An entry stored before sizes were kept weighs the most an entry can.
	if got := RefSize(Ref{}); got != UnknownEntrySize {
		t.Fatalf("RefSize of a size-less entry = %d, want %d", got, UnknownEntrySize)
	}
}

// unsafeData is where a string's bytes are.
func unsafeData(s string) *byte { return unsafe.StringData(s) }
