// Package raftjournal is a persistence.Store replicated by hashicorp/raft.
//
// One raft group spans the whole node set and every node holds a full
// replica of every journal in its own local persistence.PebbleStore. Writes
// (appends, deletes, snapshots) are raft log entries: the leader proposes
// them (a follower forwards its writes to the leader's "opsync-journal"
// actor over protoactor remote), and each replica's state machine applies
// committed entries to its local store. The sequence check of an append
// happens in the state machine, so every replica takes the same decision,
// and a write is acknowledged only once a majority holds it in its raft log.
//
// Reads are served by the local replica after it has applied at least every
// write this node has seen acknowledged; ReadBarrier extends that to every
// write acknowledged anywhere (an actor calls it before recovering).
//
// On disk, under Config.Dir: log/ (a Pebble database holding the raft log
// and raft's stable state, synced on every write) and snapshots/ (raft's
// file snapshot store). The replica itself is applied without fsync; the
// raft log is its durable copy until a raft snapshot, which first syncs it.
package raftjournal
