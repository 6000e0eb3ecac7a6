package edge

import (
	"net/http"
	"net/http/pprof"
	rpprof "runtime/pprof"
)

// The runtime's profiles, under the admin API (so behind the admin token:
// a heap profile shows what a node holds, a goroutine dump where it
// waits). GET /api/v1/debug/pprof/{name}: heap, allocs, goroutine, block,
// mutex, threadcreate; profile (CPU, ?seconds=N) and trace (?seconds=N).
// net/http/pprof's Index is not used: it serves only under /debug/pprof/.

func (s *Server) routeDebug() {
	s.mux.HandleFunc("GET "+adminPrefix+"debug/pprof/{name}", func(w http.ResponseWriter, r *http.Request) {
		switch name := r.PathValue("name"); name {
		case "profile":
			pprof.Profile(w, r)
		case "trace":
			pprof.Trace(w, r)
		default:
			if rpprof.Lookup(name) == nil {
				writeError(w, http.StatusNotFound, "NOT_FOUND", "no profile "+name)
				return
			}
			pprof.Handler(name).ServeHTTP(w, r)
		}
	})
}
