// Package bench is opsync's load generator and crash harness: the
// scenarios behind `opsync bench <scenario>` (push, push-batch, fanout,
// conns, catchup, recovery, chaos) and `opsync bench report`, which runs
// the standard set and writes docs/benchmarks.{json,md}.
//
// Every scenario talks to a node over its public HTTP and WebSocket APIs
// only: either a running node (--server URL) or one it spawns from the
// opsync binary on a fresh data directory (--spawn), which recovery, conns
// and chaos need because they restart, kill or measure the process. Each
// prints one JSON report; progress goes to stderr. Sizes are flags, so the
// package's tests run every scenario small against a real server.
//
// Clients are a lean implementation of the wire protocol
// (proto/opsync/v1/wire.proto) rather than the full client package: one
// goroutine per connection, no state file, acknowledgements written from
// the reading goroutine; reports give the bench process's own CPU time and
// memory so its share of the machine is visible.
package bench
