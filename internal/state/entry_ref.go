package state

import "github.com/opsync/opsync/proto/opsyncpb"

// Ref is what a stream keeps in memory of one retained entry: a value of
// fixed size (80 bytes) in the stream's index, whose only heap of its own
// is its thirdMsgId; its bizType is the stream's one copy of that name.
// The index held a decoded protobuf EntryRef per entry before, ~170 bytes
// of heap in three allocations (BenchmarkStreamMemoryPerEntry); the
// EntryRef stays the snapshot's and the records' wire shape.
type Ref struct {
	OplogId      uint64
	ValidTimeEnd int64
	PushTime     int64
	DeleteAfter  int64
	BizType      string
	ThirdMsgId   string
	Size         uint32 // state.EntrySize; 0 for entries stored before it was kept
	Threshold    uint32
	MaxRetries   uint32
	SingleDevice bool
}

// Proto is r as the snapshots and the records carry it.
func (r Ref) Proto() *opsyncpb.EntryRef {
	e := &opsyncpb.EntryRef{}
	r.fill(e)
	return e
}

// fill sets e's fields to r's.
func (r Ref) fill(e *opsyncpb.EntryRef) {
	e.OplogId, e.BizType, e.ThirdMsgId, e.ValidTimeEnd = r.OplogId, r.BizType, r.ThirdMsgId, r.ValidTimeEnd
	e.PushTime, e.DeleteAfter, e.Threshold, e.MaxRetries = r.PushTime, r.DeleteAfter, r.Threshold, r.MaxRetries
	e.SingleDevice, e.Size = r.SingleDevice, r.Size
}

// RefSize is the size of a retained entry (see EntrySize).
func RefSize(r Ref) uint32 {
	if r.Size == 0 {
		return UnknownEntrySize
	}
	return r.Size
}

// intern returns the stream's copy of a bizType name, so that every entry
// of a bizType shares one string instead of one decoded per event.
func (s *Stream) intern(biz string) string {
	if v, ok := s.bizNames[biz]; ok {
		return v
	}
	if s.bizNames == nil {
		s.bizNames = map[string]string{}
	}
	s.bizNames[biz] = biz
	return biz
}

// refOf is the Ref of a snapshot's EntryRef.
func (s *Stream) refOf(e *opsyncpb.EntryRef) Ref {
	return Ref{OplogId: e.OplogId, BizType: s.intern(e.BizType), ThirdMsgId: e.ThirdMsgId, ValidTimeEnd: e.ValidTimeEnd,
		PushTime: e.PushTime, DeleteAfter: e.DeleteAfter, Threshold: e.Threshold, MaxRetries: e.MaxRetries,
		SingleDevice: e.SingleDevice, Size: e.Size}
}

// refsProto is refs as a snapshot carries them: one allocation for all.
func refsProto(refs []Ref) []*opsyncpb.EntryRef {
	backing := make([]opsyncpb.EntryRef, len(refs))
	out := make([]*opsyncpb.EntryRef, len(refs))
	for i, r := range refs {
		r.fill(&backing[i])
		out[i] = &backing[i]
	}
	return out
}
