// Package cluster boots a node's protoactor cluster member with opsync's
// actor kinds and routes the edge's commands to the actors, wherever in the
// cluster they are activated.
//
// A single node runs through the same cluster path as a node set: only the
// membership provider differs, so growing to several nodes changes
// configuration, not code.
package cluster
