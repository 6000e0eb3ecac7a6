package actors

import "github.com/opsync/opsync/proto/opsyncpb"

// FrameSink is the client connection as the client actor sees it: the edge
// implements it over a WebSocket; the actor never knows that.
type FrameSink interface {
	// Send queues a frame for the client without blocking. An error means
	// the connection is gone or cannot keep up; the actor then stops.
	Send(frame *opsyncpb.ServerFrame) error
	// SendEncoded queues an encoded ServerFrame as the hub encoded it once
	// for every recipient: the bytes are shared and must not be changed.
	// delivers says it is a Deliver frame (which may leave together with
	// the Deliver frames queued beside it).
	SendEncoded(frame []byte, delivers bool) error
	// Close ends the connection with a close code and reason.
	Close(code int, reason string)
}
