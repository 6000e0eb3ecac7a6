// Package actors holds opsync's actors: the persistent actors (streams,
// instances, the instance registry; protoactor cluster kinds activated on
// demand, whose journals are their oplogs), the client actor that serves
// one connection, and the node's fan-out hub between them.
//
// Every persistent kind is built on one core, journaled (journaled.go): it
// recovers the state from the latest snapshot and the journal after the
// read barrier, writes the events its actor persists with group commit and
// the expected sequence number, applies them (package state) only once
// they are durable, snapshots and trims the journal below the snapshot,
// and fails and stops on a journal error. Journal IO after recovery runs
// off the message loop; its outcome comes back as a message. A kind is its
// state type, its events and its command handlers (stream*.go, instance.go
// with admin.go, registry.go).
//
// Delivery: a stream sends one HubDeliveries per node and list of entries
// to that node's hub (hub.go), which encodes the client frame once and
// offers the same bytes to each named client actor (client.go); the client
// actor keeps the in-flight window, the cursor per bizType and the acks it
// reports back to the streams as sync points. window.go is the window,
// filter.go the osType / app-version filters.
//
// Seams for tests: persistence.MemStore, a Clock (clock.go), and Grains
// (how a client actor finds streams and instances) instead of the
// cluster itself.
package actors
