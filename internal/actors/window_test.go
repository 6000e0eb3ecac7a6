package actors

import (
	"fmt"
	"testing"
)

func TestInflightSyncPoint(t *testing.T) {
	f := NewInflight()
	for _, id := range []uint64{3, 5, 8, 9} {
		if !f.Sent("A", id, 10) {
			t.Fatalf("Sent(A,%d) refused", id)
		}
	}
	f.Sent("B", 4, 10)
	if f.Sent("A", 8, 10) {
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
	if f.Sent("A", 9, 10) {
		t.Fatal("Sent accepted an id at or below the sync point")
	}
}

func TestInflightOutstanding(t *testing.T) {
	f := NewInflight()
	for id := uint64(1); id <= 5; id++ {
		f.Sent("A", id, 10)
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
		f.Sent("A", id, 10)
	}
	f.Sent("B", 1, 10)
	f.Ack("A", 1)
	f.Ack("A", 3)
	f.Forget("A")
	if f.Len() != 1 {
		t.Fatalf("Len = %d after Forget(A), want 1 (B's entry)", f.Len())
	}
	// The sync point stays; everything above it may be delivered again.
	if !f.Sent("A", 2, 10) || f.Sent("A", 1, 10) {
		t.Fatal("after Forget, ids above the sync point must be deliverable again and ids at or below it not")
	}
	if p, adv := f.Ack("A", 2); p != 2 || !adv {
		t.Fatalf("Ack(A,2) = %d,%v; want 2,true", p, adv)
	}
}

// The window counts what is unacknowledged, in messages and bytes: an ack
// frees its entry's room at once, in order or not (an entry the client
// never acknowledges holds its own room only).
func TestInflightWindowRoom(t *testing.T) {
	cases := []struct {
		name      string
		sent      map[uint64]uint32 // bizType A: oplog id -> size
		acks      []uint64
		forget    bool
		wantLen   int
		wantBytes int64
	}{
		{name: "nothing acknowledged", sent: map[uint64]uint32{1: 100, 2: 200, 3: 300}, wantLen: 3, wantBytes: 600},
		{name: "in order", sent: map[uint64]uint32{1: 100, 2: 200, 3: 300}, acks: []uint64{1, 2}, wantLen: 1, wantBytes: 300},
		{name: "out of order: the oldest stays", sent: map[uint64]uint32{1: 100, 2: 200, 3: 300}, acks: []uint64{3, 2}, wantLen: 1, wantBytes: 100},
		{name: "a repeated ack frees nothing more", sent: map[uint64]uint32{1: 100, 2: 200}, acks: []uint64{2, 2}, wantLen: 1, wantBytes: 100},
		{name: "an ack of what was not delivered", sent: map[uint64]uint32{1: 100}, acks: []uint64{7}, wantLen: 1, wantBytes: 100},
		{name: "forgotten after an out-of-order ack", sent: map[uint64]uint32{1: 100, 2: 200, 3: 300}, acks: []uint64{2}, forget: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := NewInflight()
			for id := uint64(1); id <= uint64(len(c.sent)); id++ {
				f.Sent("A", id, c.sent[id])
			}
			for _, id := range c.acks {
				f.Ack("A", id)
			}
			if c.forget {
				f.Forget("A")
			}
			if f.Len() != c.wantLen || f.Bytes() != c.wantBytes {
				t.Fatalf("Len, Bytes = %d, %d; want %d, %d", f.Len(), f.Bytes(), c.wantLen, c.wantBytes)
			}
		})
	}
}
