package client

import (
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Message is one oplog entry delivered to a bizType's callback.
type Message struct {
	BizType    string
	OplogID    uint64 // strictly increasing per bizType
	ThirdMsgID string // the pusher's idempotency key
	// Payload is the text payload; BinaryPayload the binary one, when
	// IsBinary.
	Payload       string
	BinaryPayload []byte
	IsBinary      bool
	PushTime      time.Time
}

func messageFrom(m *opsyncpb.SyncMessage) Message {
	out := Message{
		BizType: m.BizType, OplogID: m.OplogId, ThirdMsgID: m.ThirdMsgId,
		Payload: m.Payload, BinaryPayload: m.BinaryPayload, IsBinary: m.IsBinary,
	}
	if m.PushTime != 0 {
		out.PushTime = time.UnixMilli(m.PushTime)
	}
	return out
}
