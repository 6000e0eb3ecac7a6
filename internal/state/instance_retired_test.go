package state

import (
	"fmt"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

func putEv(t int64, biz string, target opsyncpb.Target) *opsyncpb.Event {
	return &opsyncpb.Event{Time: t, Kind: &opsyncpb.Event_BizTypePut{BizTypePut: &opsyncpb.BizTypePut{
		Config: &opsyncpb.BizTypeConfig{BizType: biz, Target: target, Persistent: true}}}}
}

func deleteEv(t int64, biz string, purgeAt int64) *opsyncpb.Event {
	return &opsyncpb.Event{Time: t, Kind: &opsyncpb.Event_BizTypeDeleted{BizTypeDeleted: &opsyncpb.BizTypeDeleted{BizType: biz, PurgeAt: purgeAt}}}
}

// A deleted bizType's entries are withheld during the grace period, kept
// when it is created again within it, and deleted for good after it; a
// bizType remembers its shape across deletions.
func TestRetiredBizTypes(t *testing.T) {
	user, device := opsyncpb.Target_TARGET_USER, opsyncpb.Target_TARGET_DEVICE
	cases := []struct {
		name    string
		evs     []*opsyncpb.Event
		at      int64 // asked at
		deleted []string
		purged  map[string]int64
		shape   string // A's target, "-" when A never existed
	}{
		{name: "never deleted", evs: []*opsyncpb.Event{putEv(1, "A", user)}, at: 5,
			purged: map[string]int64{}, shape: "TARGET_USER"},
		{name: "within the grace period: withheld, not purged", evs: []*opsyncpb.Event{putEv(1, "A", user), deleteEv(2, "A", 100)}, at: 99,
			deleted: []string{"A"}, purged: map[string]int64{}, shape: "TARGET_USER"},
		{name: "past the grace period: final", evs: []*opsyncpb.Event{putEv(1, "A", device), deleteEv(2, "A", 100)}, at: 100,
			purged: map[string]int64{"A": 100}, shape: "TARGET_DEVICE"},
		{name: "created again within the grace period: restored", evs: []*opsyncpb.Event{putEv(1, "A", user), deleteEv(2, "A", 100), putEv(50, "A", user)}, at: 1000,
			purged: map[string]int64{}, shape: "TARGET_USER"},
		{name: "created again after the grace period: the old entries stay deleted", evs: []*opsyncpb.Event{putEv(1, "A", user), deleteEv(2, "A", 100), putEv(150, "A", user)}, at: 1000,
			purged: map[string]int64{"A": 100}, shape: "TARGET_USER"},
		{name: "a second final deletion moves the cutoff", evs: []*opsyncpb.Event{putEv(1, "A", user), deleteEv(2, "A", 100), putEv(150, "A", user), deleteEv(200, "A", 300)}, at: 300,
			purged: map[string]int64{"A": 300}, shape: "TARGET_USER"},
		{name: "a second deletion within its grace keeps the first cutoff", evs: []*opsyncpb.Event{putEv(1, "A", user), deleteEv(2, "A", 100), putEv(150, "A", user), deleteEv(200, "A", 300)}, at: 250,
			deleted: []string{"A"}, purged: map[string]int64{"A": 100}, shape: "TARGET_USER"},
		{name: "a deletion journaled without a purge time deletes nothing", evs: []*opsyncpb.Event{putEv(1, "A", user), deleteEv(2, "A", 0)}, at: 1000,
			purged: map[string]int64{}, shape: "TARGET_USER"},
		{name: "deleting what does not exist changes nothing", evs: []*opsyncpb.Event{deleteEv(2, "A", 100)}, at: 1000,
			purged: map[string]int64{}, shape: "-"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := NewInstance()
			applyAll(t, in, c.evs...)
			// A snapshot restores the same answers.
			b, err := proto.Marshal(in.Snapshot())
			if err != nil {
				t.Fatal(err)
			}
			var snap opsyncpb.InstanceSnapshot
			if err := proto.Unmarshal(b, &snap); err != nil {
				t.Fatal(err)
			}
			for name, s := range map[string]*Instance{"live": in, "restored": RestoreInstance(&snap)} {
				if got := s.Deleted(c.at); !slices.Equal(got, c.deleted) {
					t.Errorf("%s: Deleted = %v, want %v", name, got, c.deleted)
				}
				if got := s.PurgedBefore(c.at); fmt.Sprint(got) != fmt.Sprint(c.purged) {
					t.Errorf("%s: PurgedBefore = %v, want %v", name, got, c.purged)
				}
				shape := "-"
				if sh := s.Shape("A"); sh != nil {
					shape = sh.Target.String()
				}
				if shape != c.shape {
					t.Errorf("%s: shape %s, want %s", name, shape, c.shape)
				}
			}
		})
	}
}
