// Package state holds the state of opsync's persistent actors (streams,
// instances, the instance registry, the operation log of an instance) and
// the pure functions that apply journal events to it.
//
// Nothing here does IO: an actor rebuilds its state by applying its
// snapshot and then every later journal event, in order, and applies each
// new event only after the journal has stored it. Applying the same events
// to the same state always yields the same state.
package state
