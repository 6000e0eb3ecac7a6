package edge

import (
	"net/http"

	"github.com/opsync/opsync/internal/console"
)

// consolePrefix is where the web console is served.
const consolePrefix = "/console/"

// consolePolicy keeps the console's pages to the node's own files and
// endpoints: no inline script, no other origin, no framing (the admin
// token lives in the page's session storage). 'self' covers the same
// host's ws: and wss: for the Live view's client WebSocket.
const consolePolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// routeConsole serves the console's static files. They need no token and
// hold no data: every page asks the admin API, which needs the admin
// token, for what it shows.
func (s *Server) routeConsole() {
	files := http.StripPrefix(consolePrefix, http.FileServerFS(console.Files()))
	s.mux.HandleFunc("GET "+consolePrefix, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", consolePolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// The files are small: fetching them again on every visit keeps a
		// browser from running a console older than the node it talks to.
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
	s.mux.Handle("GET /console", http.RedirectHandler(consolePrefix, http.StatusMovedPermanently))
}
