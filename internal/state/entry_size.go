package state

import "github.com/opsync/opsync/proto/opsyncpb"

// entryOverhead is what a message takes in a Deliver frame beside its
// payload and ids: the oplog id, push time and field tags, rounded up.
const entryOverhead = 32

// UnknownEntrySize is what an entry stored before its size was kept
// (EntryRef.size 0) weighs: the largest text payload the push APIs take
// (4096 UTF-16 code units, up to 3 bytes each in UTF-8) with a
// thirdMsgId of the longest, so that a window never holds more than its
// bytes.
const UnknownEntrySize = 3*4096 + 3*100 + 30 + entryOverhead

// EntrySize is what an entry weighs in a client's window and in the
// node's send budget: the bytes of its message in a Deliver frame, near
// enough.
func EntrySize(e *opsyncpb.Entry) uint32 {
	return uint32(len(e.Payload)+len(e.BinaryPayload)+len(e.ThirdMsgId)+len(e.BizType)) + entryOverhead
}
