// Package cluster boots a node's protoactor cluster member with opsync's
// actor kinds and routes the commands of the edge and the push service to
// the actors, wherever in the cluster they are activated. Each member also
// runs the instance watch actor, which passes the instances' change
// notices (InstanceChanged) to whoever subscribed with OnInstanceChanged,
// and the shards of its fan-out hub (actors.StartHub), which take the
// deliveries of every source for the client actors of this member.
//
// A single node runs through the same cluster path as a node set: only the
// membership provider differs, so growing to several nodes changes
// configuration, not code.
package cluster
