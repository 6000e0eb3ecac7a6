package state

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

func opsEvent(at int64, first uint64, user string, ops ...string) *opsyncpb.Event {
	m := &opsyncpb.DocOpsAccepted{FirstVersion: first, UserId: user}
	for _, o := range ops {
		m.Ops = append(m.Ops, []byte(o))
	}
	return &opsyncpb.Event{Time: at, Kind: &opsyncpb.Event_DocOpsAccepted{DocOpsAccepted: m}}
}

func snapEvent(at int64, v uint64, data string) *opsyncpb.Event {
	return &opsyncpb.Event{Time: at, Kind: &opsyncpb.Event_DocSnapshotSaved{DocSnapshotSaved: &opsyncpb.DocSnapshotSaved{
		Snapshot: &opsyncpb.DocSnapshot{Version: v, Data: []byte(data)}}}}
}

func opData(ops []*opsyncpb.DocOp) []string {
	var out []string
	for _, o := range ops {
		out = append(out, string(o.Data))
	}
	return out
}

func TestDocSessionApply(t *testing.T) {
	for _, tc := range []struct {
		name    string
		events  []*opsyncpb.Event
		wantErr bool // of the last event
		version uint64
		since   uint64
		want    []string // Since(since)
		gone    bool     // Since answers false
		joiner  []string // the joiner's ops
		snapV   uint64
		bytes   int
	}{
		{name: "empty", version: 0, since: 0},
		{name: "one batch", events: []*opsyncpb.Event{opsEvent(1, 1, "a", "x", "y")}, version: 2, since: 0, want: []string{"x", "y"}, joiner: []string{"x", "y"}, bytes: 2},
		{name: "since the middle", events: []*opsyncpb.Event{opsEvent(1, 1, "a", "x", "y"), opsEvent(2, 3, "b", "z")}, version: 3, since: 1, want: []string{"y", "z"}, joiner: []string{"x", "y", "z"}, bytes: 3},
		{name: "since the current version", events: []*opsyncpb.Event{opsEvent(1, 1, "a", "x")}, version: 1, since: 1, joiner: []string{"x"}, bytes: 1},
		{name: "a gap is refused", events: []*opsyncpb.Event{opsEvent(1, 1, "a", "x"), opsEvent(2, 3, "a", "z")}, wantErr: true, version: 1, joiner: []string{"x"}, want: []string{"x"}, bytes: 1},
		{name: "a repeat is refused", events: []*opsyncpb.Event{opsEvent(1, 1, "a", "x"), opsEvent(2, 1, "a", "x")}, wantErr: true, version: 1, joiner: []string{"x"}, want: []string{"x"}, bytes: 1},
		{name: "a snapshot drops the ops it has", events: []*opsyncpb.Event{opsEvent(1, 1, "a", "x", "y", "z"), snapEvent(2, 2, "xy")},
			version: 3, since: 2, want: []string{"z"}, joiner: []string{"z"}, snapV: 2, bytes: 1},
		{name: "ops before the snapshot are gone", events: []*opsyncpb.Event{opsEvent(1, 1, "a", "x", "y", "z"), snapEvent(2, 2, "xy")},
			version: 3, since: 0, gone: true, joiner: []string{"z"}, snapV: 2, bytes: 1},
		{name: "a snapshot ahead of the version is refused", events: []*opsyncpb.Event{opsEvent(1, 1, "a", "x"), snapEvent(2, 2, "xy")},
			wantErr: true, version: 1, joiner: []string{"x"}, want: []string{"x"}, bytes: 1},
		{name: "an older snapshot is refused", events: []*opsyncpb.Event{opsEvent(1, 1, "a", "x", "y"), snapEvent(2, 2, "xy"), snapEvent(3, 1, "x")},
			wantErr: true, version: 2, since: 2, snapV: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDocSession()
			for i, ev := range tc.events {
				err := d.Apply(uint64(i+1), ev)
				last := i == len(tc.events)-1
				if (err != nil) != (last && tc.wantErr) {
					t.Fatalf("event %d: err %v", i, err)
				}
			}
			if d.Version() != tc.version {
				t.Fatalf("version %d, want %d", d.Version(), tc.version)
			}
			got, ok := d.Since(tc.since)
			if ok == tc.gone {
				t.Fatalf("Since(%d) ok=%v", tc.since, ok)
			}
			if g := opData(got); !equalStrings(g, tc.want) {
				t.Fatalf("Since(%d) = %q, want %q", tc.since, g, tc.want)
			}
			j := d.Joiner()
			if g := opData(j.Ops); !equalStrings(g, tc.joiner) {
				t.Fatalf("joiner ops %q, want %q", g, tc.joiner)
			}
			if j.Snapshot.GetVersion() != tc.snapV {
				t.Fatalf("joiner snapshot at %d, want %d", j.Snapshot.GetVersion(), tc.snapV)
			}
			if _, b := d.Ops(); b != tc.bytes {
				t.Fatalf("bytes %d, want %d", b, tc.bytes)
			}
			// A snapshot restores the same state.
			data, err := proto.Marshal(d.SnapshotState())
			if err != nil {
				t.Fatal(err)
			}
			var s opsyncpb.DocSessionState
			if err := proto.Unmarshal(data, &s); err != nil {
				t.Fatal(err)
			}
			r := RestoreDocSession(&s)
			if r.Version() != d.Version() || r.LastSeq() != d.LastSeq() || !equalStrings(opData(r.Joiner().Ops), tc.joiner) {
				t.Fatalf("restored %d/%d, want %d/%d", r.Version(), r.LastSeq(), d.Version(), d.LastSeq())
			}
			if _, b := r.Ops(); b != tc.bytes {
				t.Fatalf("restored bytes %d, want %d", b, tc.bytes)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
