package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// What the push path asks an instance, and how the instance tells the set
// that the answer changed.
//
// The push service (internal/push) keeps each instance's push context (API
// key hash, configs) in a node-local cache. The instance actor answers
// GetPushContext with its journal's version and, after it persisted a
// change of what a push context holds (configs, keys, settings, creation),
// sends InstanceChanged to the instance watch actor of every member of the
// cluster, which drops the cached context there. The notice is one way and
// best effort: a lost one is covered by the cache's TTL.

// InstanceWatchName is the name of the local actor every member runs to
// receive InstanceChanged (internal/cluster spawns it).
const InstanceWatchName = "opsync-instance-watch"

// onGetPushContext answers the instance's API key hash, settings and configs
// with its journal version. A missing instance answers instance_exists
// false.
func (a *instanceActor) onGetPushContext() *opsyncpb.PushContext {
	if !a.state.Exists() {
		return &opsyncpb.PushContext{Version: a.j.highest}
	}
	keys, _ := a.state.Keys()
	return &opsyncpb.PushContext{InstanceExists: true, ApiKeyHash: keys.ApiKeyHash, Configs: a.state.Configs(), Settings: a.state.Settings(), Version: a.j.highest}
}

// announceChange tells every member that the instance changed, after evs
// were persisted and applied. Appends to the operation log alone (an admin
// push's record) change nothing a push context holds and are not told.
func (a *instanceActor) announceChange(evs []*opsyncpb.Event) {
	for _, ev := range evs {
		if _, logOnly := ev.Kind.(*opsyncpb.Event_OperationRecorded); !logOnly {
			NotifyInstanceChanged(a.deps.System, a.identity, a.j.highest)
			return
		}
	}
}

// NotifyInstanceChanged sends InstanceChanged{instanceID, version} to the
// instance watch actor of every member of system's cluster, this one
// included: one way, best effort (a member that is unreachable misses it).
// system must run a cluster member; nil does nothing.
func NotifyInstanceChanged(system *actor.ActorSystem, instanceID string, version uint64) {
	if system == nil {
		return
	}
	c := cluster.GetCluster(system)
	msg := &opsyncpb.InstanceChanged{InstanceId: instanceID, Version: version}
	sent := map[string]bool{}
	send := func(addr string) {
		if addr != "" && !sent[addr] {
			sent[addr] = true
			system.Root.Send(actor.NewPID(addr, InstanceWatchName), msg)
		}
	}
	send(system.Address())
	for _, m := range c.MemberList.Members().Members() {
		send(m.Address())
	}
}
