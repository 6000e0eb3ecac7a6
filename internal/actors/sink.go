package actors

import "github.com/opsync/opsync/proto/opsyncpb"

// FrameSink is the client connection as the client actor sees it: the edge
// implements it over a WebSocket; the actor never knows that.
type FrameSink interface {
	// Send queues a frame for the client without blocking. An error means
	// the connection is gone or cannot keep up; the actor then stops.
	Send(frame *opsyncpb.ServerFrame) error
	// Close ends the connection with a close code and reason.
	Close(code int, reason string)
}
