package edge

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/opsync/opsync/internal/block"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// The block API (README "Block entities"), shaped after the service's
// block-v2 open API: JSON answers {"code":0,"msg":"success","data":{…}},
// a non-zero code with its HTTP status on a refusal.

func (s *Server) routeBlocks() {
	s.mux.HandleFunc("POST /open-apis/auth/v3/tenant_access_token/internal", s.handleTenantToken)
	s.mux.HandleFunc("POST /open-apis/block/v2/entities", s.blockCall(s.createBlock))
	s.mux.HandleFunc("GET /open-apis/block/v2/entities", s.blockCall(s.blockByBusinessID))
	s.mux.HandleFunc("GET /open-apis/block/v2/entities/{block_id}", s.blockCall(s.getBlock))
	s.mux.HandleFunc("PUT /open-apis/block/v2/entities/{block_id}", s.blockCall(s.updateBlock))
	s.mux.HandleFunc("DELETE /open-apis/block/v2/entities/{block_id}", s.blockCall(s.deleteBlock))
	s.mux.HandleFunc("POST /open-apis/block/v2/message", s.blockCall(s.blockMessage))
}

// blockHandler serves one block API call for an authenticated instance:
// it answers data, or a refusal.
type blockHandler func(ctx context.Context, r *http.Request, instanceID string, body []byte) (any, *block.Error)

// blockCall authenticates the caller (Authorization: Bearer, or
// X-Opsync-Api-Key), reads the body within block.MaxBody and answers.
func (s *Server) blockCall(h blockHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
		defer cancel()
		instanceID, berr := s.blocks.Authenticate(ctx, blockCredential(r))
		if berr != nil {
			writeBlockError(w, berr)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, block.MaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeBlockError(w, &block.Error{Code: block.CodeBodyTooLarge, Status: http.StatusRequestEntityTooLarge, Msg: "the body is over " + strconv.Itoa(block.MaxBody) + " bytes"})
				return
			}
			writeBlockError(w, &block.Error{Code: block.CodeInvalidParam, Status: http.StatusBadRequest, Msg: "the body could not be read"})
			return
		}
		data, berr := h(ctx, r, instanceID, body)
		if berr != nil {
			writeBlockError(w, berr)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"code": block.CodeOK, "msg": "success", "data": data})
	}
}

// blockCredential is the caller's token or API key.
func blockCredential(r *http.Request) string {
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	return strings.TrimSpace(r.Header.Get(APIKeyHeader))
}

func writeBlockError(w http.ResponseWriter, e *block.Error) {
	writeJSON(w, e.Status, map[string]any{"code": e.Code, "msg": e.Msg})
}

func (s *Server) createBlock(ctx context.Context, _ *http.Request, instanceID string, body []byte) (any, *block.Error) {
	e, berr := block.ParseEntity(body, true)
	if berr != nil {
		return nil, berr
	}
	if berr := s.admitBlockWrite(); berr != nil {
		return nil, berr
	}
	res, berr := s.blocks.Create(ctx, instanceID, e)
	if berr != nil {
		return nil, berr
	}
	return map[string]any{"entity": blockJSON(res.Entity), "created": res.Created}, nil
}

func (s *Server) updateBlock(ctx context.Context, r *http.Request, instanceID string, body []byte) (any, *block.Error) {
	e, berr := block.ParseEntity(body, false)
	if berr != nil {
		return nil, berr
	}
	if berr := s.admitBlockWrite(); berr != nil {
		return nil, berr
	}
	res, berr := s.blocks.Update(ctx, instanceID, r.PathValue("block_id"), e)
	if berr != nil {
		return nil, berr
	}
	return map[string]any{"entity": blockJSON(res.Entity)}, nil
}

// deleteBlock is opsync's addition (the service's block-v2 has no
// delete): it answers the tombstone, {"entity":{block_id, version,
// deleted:true, …}}.
func (s *Server) deleteBlock(ctx context.Context, r *http.Request, instanceID string, _ []byte) (any, *block.Error) {
	res, berr := s.blocks.Delete(ctx, instanceID, r.PathValue("block_id"))
	if berr != nil {
		return nil, berr
	}
	return map[string]any{"entity": blockJSON(res.Entity)}, nil
}

func (s *Server) getBlock(ctx context.Context, r *http.Request, instanceID string, _ []byte) (any, *block.Error) {
	res, berr := s.blocks.Get(ctx, instanceID, r.PathValue("block_id"))
	if berr != nil {
		return nil, berr
	}
	return map[string]any{"entity": blockJSON(res.Entity), "viewers": res.Viewers}, nil
}

func (s *Server) blockByBusinessID(ctx context.Context, r *http.Request, instanceID string, _ []byte) (any, *block.Error) {
	res, berr := s.blocks.ByBusinessID(ctx, instanceID, r.URL.Query().Get("business_id"))
	if berr != nil {
		return nil, berr
	}
	return map[string]any{"entity": blockJSON(res.Entity), "viewers": res.Viewers}, nil
}

func (s *Server) blockMessage(ctx context.Context, _ *http.Request, instanceID string, body []byte) (any, *block.Error) {
	blockID, users, m, berr := block.ParseMessage(body)
	if berr != nil {
		return nil, berr
	}
	n, berr := s.blocks.Message(ctx, instanceID, blockID, users, m)
	if berr != nil {
		return nil, berr
	}
	return map[string]any{"devices": n}, nil
}

// admitBlockWrite refuses a new version while the disk is below its
// reserve (see space.go), as pushes are.
func (s *Server) admitBlockWrite() *block.Error {
	if s.opts.Space == nil {
		return nil
	}
	if err := s.opts.Space.AdmitGrowth(); err != nil {
		return &block.Error{Code: block.CodeSystemError, Status: http.StatusInsufficientStorage, Msg: err.Error()}
	}
	return nil
}

// handleTenantToken serves the service's tenant token request; the
// answer's fields are at the top level, where the SDK reads them.
func (s *Server) handleTenantToken(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	var req struct {
		AppID     string `json:"app_id"`
		AppSecret string `json:"app_secret"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, block.MaxBody))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeBlockError(w, &block.Error{Code: block.CodeInvalidParam, Status: http.StatusBadRequest, Msg: "the body must be JSON {\"app_id\":…,\"app_secret\":…}"})
		return
	}
	tok, expire, berr := s.blocks.IssueToken(ctx, req.AppID, req.AppSecret)
	if berr != nil {
		writeBlockError(w, berr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"code": 0, "msg": "ok", "tenant_access_token": tok, "expire": expire})
}

// blockJSON is an entity as the API answers it: the service's fields
// (i18n_summary also under the SDK's spelling i18n_summay), the version
// as a decimal string, and opsync's business_id, times (ms) and, for a
// deleted block's tombstone only, deleted.
func blockJSON(e *opsyncpb.BlockEntity) map[string]any {
	m := map[string]any{
		"block_id": e.BlockId, "title": e.Title, "block_type_id": e.BlockTypeId, "source_data": e.SourceData,
		"source_meta": e.SourceMeta, "version": strconv.FormatUint(e.Version, 10), "source_link": e.SourceLink,
		"owner": e.Owner, "extra": e.Extra, "summary": e.Summary, "preview": e.Preview,
		"i18n_summary": e.I18NSummary, "i18n_summay": e.I18NSummary, "i18n_preview": e.I18NPreview,
		"business_id": e.BusinessId, "created_at": e.CreatedAt, "updated_at": e.UpdatedAt,
	}
	if e.Deleted {
		m["deleted"] = true
	}
	return m
}
