package actors

import (
	"sort"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// onStatus answers a records query (and wakes the stream for a sweep: the
// node's sweeper asks every stream this way).
func (a *streamActor) onStatus(ctx actor.Context, m *opsyncpb.StreamStatus) {
	if m.CheckClientId != "" {
		_, attached := a.subs[subKey(actor.NewPID(m.CheckClientAddress, m.CheckClientId))]
		respond(ctx, &opsyncpb.StreamStatusResult{Stream: a.identity, Connected: attached && !a.j.failed})
		return
	}
	if !a.j.failed {
		a.sweep(ctx)
		a.j.flush()
	}
	limit := int(m.Limit)
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	pushes, arrivals, newest := a.state.Status(m.Since, limit)
	// a.tries, not the journal's counts: first deliveries are counted in
	// memory only (stream_retries.go).
	res := &opsyncpb.StreamStatusResult{Stream: a.identity, Pushes: pushes, Arrivals: arrivals, Dropped: a.state.Dropped(),
		EntryStates: a.state.EntryStates(newest, a.tries)}
	for _, r := range newest {
		res.Entries = append(res.Entries, r.Proto())
	}
	for _, s := range a.subs {
		res.ConnectedDevices = append(res.ConnectedDevices, s.device)
	}
	sort.Strings(res.ConnectedDevices)
	res.Connected = len(res.ConnectedDevices) > 0
	respond(ctx, res)
}
