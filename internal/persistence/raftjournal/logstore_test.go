package raftjournal

import (
	"bytes"
	"errors"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func openTestRaftDB(t *testing.T, dir string) *raftDB {
	t.Helper()
	db, err := openRaftDB(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestLogCodecRoundTrip(t *testing.T) {
	for _, l := range []raft.Log{
		{},
		{Index: 1, Term: 1, Type: raft.LogNoop},
		{Index: 1 << 62, Term: 99, Type: raft.LogCommand, Data: []byte("data"), Extensions: []byte{0, 1},
			AppendedAt: time.Unix(1700000000, 123456789)},
		{Index: 7, Term: 3, Type: raft.LogConfiguration, Data: bytes.Repeat([]byte{0xff}, 70000)},
	} {
		var got raft.Log
		if err := decodeLog(encodeLog(nil, &l), &got); err != nil {
			t.Fatalf("decode %+v: %v", l.Index, err)
		}
		if got.Index != l.Index || got.Term != l.Term || got.Type != l.Type || !bytes.Equal(got.Data, l.Data) ||
			!bytes.Equal(got.Extensions, l.Extensions) || !got.AppendedAt.Equal(l.AppendedAt) {
			t.Fatalf("round trip of %d: got %+v", l.Index, got)
		}
	}
	enc := encodeLog(nil, &raft.Log{Index: 5, Term: 2, Data: []byte("abc")})
	for i := range len(enc) {
		var got raft.Log
		if err := decodeLog(enc[:i], &got); err == nil {
			t.Fatalf("truncated entry (%d of %d bytes) decoded", i, len(enc))
		}
	}
}

func TestLogStore(t *testing.T) {
	dir := t.TempDir()
	db := openTestRaftDB(t, dir)
	s := LogStore{db}
	checkEdges := func(first, last uint64) {
		t.Helper()
		f, err1 := s.FirstIndex()
		l, err2 := s.LastIndex()
		if err1 != nil || err2 != nil || f != first || l != last {
			t.Fatalf("First/LastIndex = %d, %d (%v, %v); want %d, %d", f, l, err1, err2, first, last)
		}
	}
	checkEdges(0, 0)
	var l raft.Log
	if err := s.GetLog(1, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog on empty: %v", err)
	}

	var logs []*raft.Log
	for i := uint64(1); i <= 300; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 1 + i/100, Type: raft.LogCommand, Data: []byte{byte(i)}})
	}
	if err := s.StoreLogs(logs[:299]); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreLog(logs[299]); err != nil {
		t.Fatal(err)
	}
	checkEdges(1, 300)
	if err := s.GetLog(256, &l); err != nil || l.Index != 256 || l.Term != 3 || !bytes.Equal(l.Data, []byte{0}) {
		t.Fatalf("GetLog(256) = %+v, %v", l, err)
	}

	// Compaction from the front, truncation of a conflicting suffix.
	if err := s.DeleteRange(1, 100); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(251, 300); err != nil {
		t.Fatal(err)
	}
	checkEdges(101, 250)
	if err := s.GetLog(100, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog of a deleted entry: %v", err)
	}
	if err := s.DeleteRange(5, 4); err != nil {
		t.Fatal(err)
	}
	checkEdges(101, 250)

	// Everything survives a reopen.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestRaftDB(t, dir)
	defer db.Close()
	s = LogStore{db}
	checkEdges(101, 250)
	if err := s.GetLog(250, &l); err != nil || l.Index != 250 {
		t.Fatalf("GetLog(250) after reopen = %+v, %v", l, err)
	}
	if err := s.DeleteRange(0, ^uint64(0)); err != nil {
		t.Fatal(err)
	}
	checkEdges(0, 0)
}

func TestStableStore(t *testing.T) {
	dir := t.TempDir()
	db := openTestRaftDB(t, dir)
	s := StableStore{db}
	if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 0 {
		t.Fatalf("GetUint64 of a missing key = %d, %v", v, err)
	}
	// Raft matches the error text of a missing key.
	if _, err := s.Get([]byte("LastVoteCand")); err == nil || err.Error() != "not found" {
		t.Fatalf("Get of a missing key: %v", err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 42); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("LastVoteCand"), []byte("node-1")); err != nil {
		t.Fatal(err)
	}
	// Stable keys and log keys do not see each other.
	if err := (LogStore{db}).StoreLog(&raft.Log{Index: 1, Term: 1}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openTestRaftDB(t, dir)
	defer db.Close()
	s = StableStore{db}
	if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 42 {
		t.Fatalf("term after reopen = %d, %v", v, err)
	}
	if v, err := s.Get([]byte("LastVoteCand")); err != nil || !reflect.DeepEqual(v, []byte("node-1")) {
		t.Fatalf("vote after reopen = %q, %v", v, err)
	}
	if l, _ := (LogStore{db}).LastIndex(); l != 1 {
		t.Fatalf("log last index = %d", l)
	}
}
