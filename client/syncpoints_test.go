package client

import (
	"errors"
	"maps"
	"testing"
)

func TestSyncPointAdvancesOnlyOverReportedMessages(t *testing.T) {
	s := newSyncPoints(map[string]uint64{"A": 2})
	// Oplog ids of one bizType need not be contiguous (the stream is
	// shared with other bizTypes; trims remove entries).
	for _, id := range []uint64{3, 5, 9, 12} {
		if !s.received("A", id) {
			t.Fatalf("message %d above the sync point was not delivered", id)
		}
	}
	steps := []struct {
		report uint64
		point  uint64
	}{
		{9, 2},  // 3 and 5 are not reported yet
		{12, 2}, // still
		{5, 2},  // 3 still missing
		{3, 12}, // now everything up to 12 is
	}
	for _, st := range steps {
		if _, err := s.report("A", st.report); err != nil {
			t.Fatalf("report %d: %v", st.report, err)
		}
		if got := s.point("A"); got != st.point {
			t.Fatalf("after reporting %d the sync point is %d, want %d", st.report, got, st.point)
		}
	}
}

func TestSyncPointInOrderReports(t *testing.T) {
	s := newSyncPoints(nil)
	for id := uint64(1); id <= 5; id++ {
		s.received("A", id)
	}
	for id := uint64(1); id <= 5; id++ {
		advanced, err := s.report("A", id)
		if err != nil || !advanced || s.point("A") != id {
			t.Fatalf("report %d: advanced %v, err %v, point %d", id, advanced, err, s.point("A"))
		}
	}
	// Reporting again is harmless and moves nothing.
	if advanced, err := s.report("A", 3); advanced || err != nil {
		t.Fatalf("repeat report: advanced %v, err %v", advanced, err)
	}
}

func TestSyncPointsAreIndependentPerBizType(t *testing.T) {
	s := newSyncPoints(nil)
	s.received("A", 1)
	s.received("B", 2)
	s.received("A", 3)
	s.report("B", 2)
	s.report("A", 3)
	if s.point("B") != 2 || s.point("A") != 0 {
		t.Fatalf("points A=%d B=%d, want A=0 B=2", s.point("A"), s.point("B"))
	}
	if want := map[string]uint64{"B": 2}; !maps.Equal(s.points(), want) {
		t.Fatalf("points() = %v, want %v", s.points(), want)
	}
}

func TestReportOfUndeliveredMessageIsRefused(t *testing.T) {
	s := newSyncPoints(nil)
	s.received("A", 4)
	if _, err := s.report("A", 7); !errors.Is(err, ErrNotDelivered) {
		t.Fatalf("report of undelivered 7: %v, want ErrNotDelivered", err)
	}
	if _, err := s.report("B", 4); !errors.Is(err, ErrNotDelivered) {
		t.Fatalf("report of 4 under another bizType: %v, want ErrNotDelivered", err)
	}
	if s.point("A") != 0 {
		t.Fatalf("sync point moved to %d", s.point("A"))
	}
}

func TestRedeliveredMessagesAreDeduplicated(t *testing.T) {
	s := newSyncPoints(map[string]uint64{"A": 10})
	// At or below the saved sync point: acknowledged again, not delivered.
	for _, id := range []uint64{1, 10} {
		if s.received("A", id) {
			t.Fatalf("message %d at or below the sync point 10 was delivered again", id)
		}
	}
	for _, id := range []uint64{11, 12, 13} {
		s.received("A", id)
	}
	s.report("A", 12) // ahead of 11
	s.report("A", 13)
	// After a reconnect the server sends 11, 12, 13 again: 11 was never
	// reported and is delivered again; 12 and 13 were and are not.
	want := map[uint64]bool{11: true, 12: false, 13: false}
	for id, deliver := range want {
		if got := s.received("A", id); got != deliver {
			t.Fatalf("redelivered %d: delivered=%v, want %v", id, got, deliver)
		}
	}
	s.report("A", 11)
	if s.point("A") != 13 {
		t.Fatalf("sync point %d, want 13", s.point("A"))
	}
	if s.received("A", 13) || !s.received("A", 14) {
		t.Fatal("after the sync point reached 13, 13 must be a duplicate and 14 new")
	}
}
