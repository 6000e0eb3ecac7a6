package edge

import (
	"net/http"
	"strings"
)

// While the node's disk is below its reserve (Options.Space), the admin
// API's writes answer 507 INSUFFICIENT_STORAGE before they reach an actor,
// and /readyz answers 503 with the reason. Reads, client connections and
// deliveries go on. Voter changes are let through: they are a few bytes,
// and removing a dead voter may be what an operator needs most then.

// DiskSpace is what the edge asks of the node's free-space guard
// (persistence.SpaceGuard, which the edge knows only by this face).
type DiskSpace interface {
	// AdmitGrowth returns nil while new data may be stored, else why not
	// (and counts the refusal).
	AdmitGrowth() error
	// Err says why new data is refused now, nil when it is not.
	Err() error
}

// insufficientStorage answers an admin write refused for want of disk
// space; false when the write may go on.
func (s *Server) insufficientStorage(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Space == nil || !adminWrite(r) {
		return false
	}
	if err := s.opts.Space.AdmitGrowth(); err != nil {
		writeError(w, http.StatusInsufficientStorage, "INSUFFICIENT_STORAGE", err.Error())
		return true
	}
	return false
}

// adminWrite reports whether r is an admin call that stores something.
func adminWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return strings.HasPrefix(r.URL.Path, adminPrefix) && !strings.HasPrefix(r.URL.Path, adminPrefix+"cluster/")
}

// diskNotReady answers /readyz's 503 while new data is refused; false
// when the disk has room.
func (s *Server) diskNotReady(w http.ResponseWriter) bool {
	if s.opts.Space == nil {
		return false
	}
	if err := s.opts.Space.Err(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": "DISK_LOW", "error": err.Error()})
		return true
	}
	return false
}
