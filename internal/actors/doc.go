// Package actors holds opsync's actors: the persistent stream and instance
// actors (protoactor cluster kinds, activated on demand, whose journals are
// their oplogs) and the client actor that serves one connection.
//
// A persistent actor handles a command by validating it against its state,
// appending the resulting events to its journal, and only after the journal
// confirmed them, applying them (package events) and answering.
package actors
