package edge

import (
	"net/http"

	"github.com/opsync/opsync/internal/card"
)

// The records view of a card (admin API): what the console shows of it,
// its data (public and per-user private), its recipients and how many
// connections have it open, under the admin token instead of the card
// API's access token (which belongs to the instance's backend, not to the
// operator).

func (s *Server) routeCardAdmin() {
	s.mux.HandleFunc("GET /api/v1/instances/{instance}/cards/{card}", s.adminCard)
}

func (s *Server) adminCard(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, cerr := s.cards.Get(ctx, instance, r.PathValue("card"))
	switch {
	case cerr == nil:
	case cerr.Code == card.CodeNotExist:
		writeError(w, http.StatusNotFound, "NOT_FOUND", cerr.Msg)
		return
	case cerr.Status == http.StatusBadRequest:
		writeError(w, http.StatusBadRequest, "INVALID", cerr.Msg)
		return
	default:
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", cerr.Msg)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"card": cardJSON(res.Card, res.Viewers)})
}
