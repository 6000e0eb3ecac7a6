package actors

import (
	"testing"

	"github.com/opsync/opsync/proto/opsyncpb"
)

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0.0", 0},
		{"10.1.2", "9.8", 1},
		{"8.6.0.9999", "8.6.1", -1},
		{"", "0.0.0.0", 0},
		{"", "1", -1},
		{"1.x", "1.0", 0},
		{"100.100.100.100", "100.100.100.99", 1},
	} {
		if got := CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%q,%q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestDeliverable(t *testing.T) {
	e := &opsyncpb.Entry{OsType: "iOS", AppMinVersion: "8.6.0", AppMaxVersion: "9.0.0.9999", ValidTimeEnd: 1000}
	for _, tc := range []struct {
		os, ver string
		now     int64
		want    bool
	}{
		{"ios", "8.6.0", 1000, true},
		{"iOS", "9.0.0.9999", 500, true},
		{"Android", "8.7", 500, false},
		{"iOS", "8.5.9", 500, false},
		{"iOS", "9.0.1", 500, false},
		{"iOS", "8.7", 1001, false},
	} {
		if got := Deliverable(e, tc.os, tc.ver, tc.now); got != tc.want {
			t.Errorf("Deliverable(%s,%s,%d) = %v, want %v", tc.os, tc.ver, tc.now, got, tc.want)
		}
	}
	if !Deliverable(&opsyncpb.Entry{}, "", "", 1<<40) {
		t.Error("an entry without filters is not deliverable")
	}
}
