// Package edge is opsync's HTTP and WebSocket front: the push APIs of the
// source document, the admin API, and client connections. It parses and
// checks input, then hands commands to the cluster; it never touches
// storage.
package edge
