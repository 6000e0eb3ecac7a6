// Package edge is opsync's HTTP and WebSocket front: the push APIs of the
// source document, the admin API, and client connections. It parses and
// checks input, then hands pushes to the push service (internal/push) and
// other commands to the cluster, and maps their results to HTTP answers
// (pushStatus is the one mapping of push result codes to statuses: 200
// for every push API answer unless strict statuses are asked for); it
// never touches storage.
package edge
