// Package e2e holds opsync's end-to-end tests: they build the real opsync
// binary, run nodes on 127.0.0.1 with temporary data directories, and talk
// to them only through the public HTTP / WebSocket API and the CLI.
package e2e
