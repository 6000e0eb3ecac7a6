// Package console holds the web console's static files: hand-written
// HTML, CSS and ES modules, embedded into the binary so that
// `go build ./cmd/opsync` alone produces a node that serves them (no
// JavaScript toolchain, no bundler, no CDN). The console is only a client
// of the documented admin API: everything it shows, it asks of /api/v1/
// with the admin token the operator types in.
package console

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// Files are the console's files, rooted at the directory served as
// /console/ (index.html at its top).
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// fs.Sub fails only on an invalid path, and "static" is valid.
		panic(err)
	}
	return sub
}
