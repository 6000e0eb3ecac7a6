package actors

import (
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A global entry's arrival at a client counts in the statistics of the
// client's user (a global bizType of user target) or device (device
// target): the global stream, which every client of the instance reads,
// keeps no statistics per user. The client actor gathers the global
// entries its client acknowledges and reports them every arrivalsDelay
// (and when it stops), one GlobalArrivals per target stream: each report
// is a journal append of that stream, so a global push to every client of
// a node costs one append per user (or device) and arrivalsDelay, not one
// per user and ackDelay. A crash loses at most the last arrivalsDelay of
// these counts (statistics, never entries or sync points).
const arrivalsDelay = 2 * time.Second

// flushArrivals is the local message that reports the gathered arrivals.
type flushArrivals struct{}

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
	if !a.arrivalsScheduled {
		a.arrivalsScheduled = true
		self, root := a.self, a.root
		a.p.Clock.AfterFunc(arrivalsDelay, func() { root.Send(self, &flushArrivals{}) })
	}
}

// sendArrivals reports the gathered arrivals of global entries.
func (a *clientActor) sendArrivals() {
	a.arrivalsScheduled = false
	for stream, es := range a.arrivals {
		if pid := a.cl.Get(stream, KindStream); pid != nil {
			a.root.Send(pid, &opsyncpb.GlobalArrivals{DeviceId: a.p.DeviceID, Entries: es})
		}
	}
	clear(a.arrivals)
}
