package edge

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/opsync/opsync/internal/block"
	"github.com/opsync/opsync/internal/card"
	"github.com/opsync/opsync/internal/consistency"
	"github.com/opsync/opsync/internal/dynamic"
	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/push"
)

// Options configure the edge.
type Options struct {
	Logger *slog.Logger
	// OriginPatterns lists the browser origins (host patterns) allowed to
	// open client WebSockets; clients that send no Origin are always allowed.
	OriginPatterns []string
	// RequestTimeout bounds one API call through the cluster.
	RequestTimeout time.Duration
	// ClientWindow bounds the messages in flight per connection, and
	// ClientWindowBytes their bytes (0: actors.DefaultWindow,
	// actors.DefaultWindowBytes).
	ClientWindow      int
	ClientWindowBytes int64
	// SendBudget bounds the bytes all client connections hold together
	// (sendbudget.go); 0: no budget.
	SendBudget int64
	// AdminToken is the bearer token of the admin API (/api/v1/); when
	// empty the admin API refuses every call.
	AdminToken string
	// Validator asks instances' user-consistency validation endpoints
	// (nil: no check is ever made).
	Validator consistency.Validator
	// Cluster manages the replicated journal's voters (nil: local journal).
	Cluster ClusterAdmin
	// Push is the push service every push API hands its pushes to (nil:
	// one on member, subscribed to its instance change notices).
	Push *push.Service
	// StrictPushStatus makes the push APIs answer opsync's own refusals
	// with their HTTP status (400 ARGS_INVALID, 401, 404, 405) instead of
	// 200, the source's status for every answer.
	StrictPushStatus bool
	// Space says whether the node's disk takes new data (nil: always):
	// admin writes answer 507 and /readyz 503 while it does not (see
	// space.go). The push service asks it too (push.Options.Space).
	Space DiskSpace
	// Blocks is the block service the block API hands its calls to (nil:
	// one on member and Push).
	Blocks *block.Service
	// Cards is the card service the card API hands its calls to (nil:
	// one on member and Push, with CardCallbackPrivate).
	Cards *card.Service
	// CardCallbackPrivate lets card callback URLs name private, loopback
	// and link-local targets (serve --card-callback-private).
	CardCallbackPrivate bool
}

// Server serves opsync's HTTP and WebSocket API on top of a cluster member.
type Server struct {
	member Backend
	push   *push.Service
	blocks *block.Service
	cards  *card.Service
	opts   Options
	mux    *http.ServeMux

	mu     sync.Mutex
	conns  map[*clientConn]struct{}
	budget *sendBudget

	// dynamic pulls the dynamic data of the cards open on the node's
	// connections (carddynamic.go).
	dynamic *dynamic.Puller
}

// New returns the edge of member (in a node, its *cluster.Member).
func New(member Backend, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	if opts.Push == nil {
		opts.Push = push.New(member, push.Options{Logger: opts.Logger})
		member.OnInstanceChanged(opts.Push.InstanceChanged)
	}
	if opts.Blocks == nil {
		opts.Blocks = block.New(member, opts.Push, opts.Logger)
	}
	if opts.Cards == nil {
		opts.Cards = card.New(member, opts.Push, card.Options{Logger: opts.Logger, AllowPrivateCallbacks: opts.CardCallbackPrivate})
	}
	s := &Server{member: member, push: opts.Push, blocks: opts.Blocks, cards: opts.Cards, opts: opts, mux: http.NewServeMux(), conns: map[*clientConn]struct{}{},
		budget: newSendBudget(opts.SendBudget)}
	s.dynamic = dynamic.NewPuller(dynamic.Config{AllowPrivate: opts.CardCallbackPrivate, Logger: opts.Logger})
	s.mux.HandleFunc("/webapi/sync/single", s.handleSinglePush)
	s.mux.HandleFunc("/webapi/sync/batch", s.handleBatchPush)
	s.mux.HandleFunc("/webapi/sync/global", s.handleGlobalPush)
	s.mux.HandleFunc("GET /api/v1/instances/{instance}/{kind}/{id}/records", s.handleRecords)
	s.mux.HandleFunc("GET /webapi/sync/ws", s.handleClient)
	s.routeAdmin()
	s.routeInstances()
	s.routeCluster()
	s.routeBlocks()
	s.routeBlockAdmin()
	s.routeCardAdmin()
	s.routeDocAdmin()
	s.routeDebug()
	s.routeCards()
	s.routeDocREST()
	s.routeConsole()
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "activations": member.Activations()})
	})
	s.mux.Handle("GET /metrics", metrics.Handler())
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return s
}

// ServeHTTP implements http.Handler. A panic in a handler answers 500 with
// a JSON body instead of a stack trace.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.opts.Logger.Error("handler panic", slog.String("path", r.URL.Path), slog.Any("panic", p))
			writeError(w, http.StatusInternalServerError, "SYSTEM_ERROR", "internal error")
		}
	}()
	if strings.HasPrefix(r.URL.Path, adminPrefix) && !s.adminAuthorized(r) {
		writeUnauthorized(w, "the admin API needs the header Authorization: Bearer <admin token>")
		return
	}
	if s.insufficientStorage(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// CloseClients ends every client connection with "going away", so that
// clients reconnect elsewhere or later.
func (s *Server) CloseClients() {
	s.mu.Lock()
	conns := make([]*clientConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close(1001, "server shutting down")
	}
}

// instancePattern is the form of an instance id (workspaceId_AppId).
var instancePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// ValidInstanceID reports whether s is a well-formed instance id. An id of
// dots only is not: "." and ".." are rewritten by every URL path cleaner
// (an instance so named could be created and never managed again), and
// the rest of that family is refused with them so the rule is one line.
func ValidInstanceID(s string) bool {
	return instancePattern.MatchString(s) && strings.Trim(s, ".") != ""
}

// instanceIDRule is the rule in words, for refusals.
const instanceIDRule = "instanceId must be 1-64 characters of A-Z, a-z, 0-9, '_', '-', '.', not only dots"

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers the admin API's error shape.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}

// handleReady answers 200 once the node can serve: its cluster member
// routes a request to an actor and back, and its disk takes new data.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.diskNotReady(w) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if _, err := s.member.BizTypes(ctx, readinessProbeInstance); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true})
}

// readinessProbeInstance is asked for its configs by /readyz; the name
// cannot be created (instance ids have no '~'), so the probe never reads
// tenant data.
const readinessProbeInstance = "~readyz"
