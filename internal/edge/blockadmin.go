package edge

import (
	"net/http"
	"strconv"

	"github.com/opsync/opsync/internal/block"
)

// The records view of a block (admin API): what the console shows of it,
// its current version and the connections that have it open, per node
// (the node's id, as GET /api/v1/cluster names it) and in total.

func (s *Server) routeBlockAdmin() {
	s.mux.HandleFunc("GET /api/v1/instances/{instance}/blocks/{block}", s.adminBlock)
}

func (s *Server) adminBlock(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, berr := s.blocks.Get(ctx, instance, r.PathValue("block"))
	switch {
	case berr == nil:
	case berr.Code == block.CodeNotFound:
		writeError(w, http.StatusNotFound, "NOT_FOUND", berr.Msg)
		return
	default:
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", berr.Msg)
		return
	}
	e := res.Entity
	byNode := res.ViewersByNode
	if byNode == nil {
		byNode = map[string]uint32{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"block": map[string]any{
			"blockId": e.BlockId, "businessId": e.BusinessId, "title": e.Title, "blockTypeId": e.BlockTypeId,
			"version": strconv.FormatUint(e.Version, 10), "createdAt": e.CreatedAt, "updatedAt": e.UpdatedAt,
		},
		"viewers": map[string]any{"total": res.Viewers, "byNode": byNode},
	})
}
