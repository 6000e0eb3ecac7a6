package edge

import (
	"net/http"

	"github.com/opsync/opsync/internal/push"
)

// handleGlobalPush is the source's global push: one entry for every user or
// device of a global bizType, stored in the bizType's global stream. Each
// client gets it from its own sync point at its next connect, or at once
// when the config's pushToOnline is on.
func (s *Server) handleGlobalPush(w http.ResponseWriter, r *http.Request) {
	s.servePush(w, r, apiGlobal, push.Global)
}
