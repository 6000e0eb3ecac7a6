package actors

import (
	"fmt"
	"testing"
)

func TestInflightSyncPoint(t *testing.T) {
	f := NewInflight()
	for _, id := range []uint64{3, 5, 8, 9} {
		if !f.Sent("A", id) {
			t.Fatalf("Sent(A,%d) refused", id)
		}
	}
	f.Sent("B", 4)
	if f.Sent("A", 8) {
		t.Fatal("Sent accepted an id below the last one")
	}
	if f.Len() != 5 {
		t.Fatalf("Len = %d, want 5", f.Len())
	}
	steps := []struct {
		biz       string
		ack       uint64
		wantPoint uint64
		wantAdv   bool
	}{
		{"A", 5, 0, false},  // 3 is outstanding: the point may not pass it
		{"A", 42, 0, false}, // never delivered
		{"A", 3, 5, true},   // 3 and 5 acked: the point jumps to 5
		{"A", 3, 5, false},  // a repeated ack changes nothing
		{"A", 9, 5, false},  // 8 outstanding
		{"B", 4, 4, true},   // bizTypes are independent
		{"A", 8, 9, true},
	}
	for i, s := range steps {
		p, adv := f.Ack(s.biz, s.ack)
		if p != s.wantPoint || adv != s.wantAdv {
			t.Fatalf("step %d: Ack(%s,%d) = %d,%v; want %d,%v", i, s.biz, s.ack, p, adv, s.wantPoint, s.wantAdv)
		}
	}
	if f.Len() != 0 {
		t.Fatalf("Len = %d after every ack, want 0", f.Len())
	}
	if f.Sent("A", 9) {
		t.Fatal("Sent accepted an id at or below the sync point")
	}
}

func TestInflightOutstanding(t *testing.T) {
	f := NewInflight()
	for id := uint64(1); id <= 5; id++ {
		f.Sent("A", id)
	}
	f.Ack("A", 2)
	f.Ack("A", 4)
	if got := fmt.Sprint(f.Outstanding("A")); got != "[1 3 5]" {
		t.Fatalf("Outstanding = %s, want [1 3 5]", got)
	}
}

func TestInflightForget(t *testing.T) {
	f := NewInflight()
	for id := uint64(1); id <= 4; id++ {
		f.Sent("A", id)
	}
	f.Sent("B", 1)
	f.Ack("A", 1)
	f.Ack("A", 3)
	f.Forget("A")
	if f.Len() != 1 {
		t.Fatalf("Len = %d after Forget(A), want 1 (B's entry)", f.Len())
	}
	// The sync point stays; everything above it may be delivered again.
	if !f.Sent("A", 2) || f.Sent("A", 1) {
		t.Fatal("after Forget, ids above the sync point must be deliverable again and ids at or below it not")
	}
	if p, adv := f.Ack("A", 2); p != 2 || !adv {
		t.Fatalf("Ack(A,2) = %d,%v; want 2,true", p, adv)
	}
}
