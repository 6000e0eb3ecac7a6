package actors

import (
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A global entry's arrival at a client counts in the statistics of the
// client's user (a global bizType of user target) or device (device
// target): the global stream, which every client of the instance reads,
// keeps no statistics per user. The client actor gathers the global
// entries its client acknowledges and reports them with its gathered acks
// (sendAcks), one GlobalArrivals per target stream.

// globalArrived notes that the client acknowledged a global entry.
func (a *clientActor) globalArrived(rcv *opsyncpb.SyncPoint) {
	cfg := a.configs[rcv.BizType]
	if cfg == nil {
		return
	}
	stream := UserStream(a.p.InstanceID, a.p.UserID)
	if cfg.Target == opsyncpb.Target_TARGET_DEVICE {
		stream = DeviceStream(a.p.InstanceID, a.p.DeviceID)
	}
	if a.arrivals == nil {
		a.arrivals = map[string][]*opsyncpb.SyncPoint{}
	}
	a.arrivals[stream] = append(a.arrivals[stream], rcv)
}

// sendArrivals reports the gathered arrivals of global entries.
func (a *clientActor) sendArrivals() {
	for stream, es := range a.arrivals {
		if pid := a.cl.Get(stream, KindStream); pid != nil {
			a.root.Send(pid, &opsyncpb.GlobalArrivals{DeviceId: a.p.DeviceID, Entries: es})
		}
	}
	clear(a.arrivals)
}
