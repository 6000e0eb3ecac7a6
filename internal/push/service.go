package push

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/internal/resultcode"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Router is what the service needs of the cluster: an instance's push
// context, and the routes of entries to streams. *cluster.Member
// implements it.
type Router interface {
	// PushContext asks the instance for its API key and configs.
	PushContext(ctx context.Context, instanceID string) (*opsyncpb.PushContext, error)
	// Push sends an entry to the stream of linkToken under target; a
	// transient one is delivered to the clients attached now and not
	// stored.
	Push(ctx context.Context, instanceID string, target opsyncpb.Target, linkToken string, e *opsyncpb.Entry, transient bool) (*opsyncpb.PushResult, error)
	// PushGlobal stores an entry in a global bizType's stream.
	PushGlobal(ctx context.Context, instanceID, bizType string, e *opsyncpb.Entry) (*opsyncpb.PushResult, error)
	// PushBatch sends entries to one stream, written in one append; the
	// result has one answer per entry, in order.
	PushBatch(ctx context.Context, instanceID string, target opsyncpb.Target, linkToken string, es []*opsyncpb.Entry) (*opsyncpb.PushBatchResult, error)
}

// Caller is how a push authenticated.
type Caller struct {
	// APIKey is the key the pusher presented; it must be the instance's,
	// unless the instance lets From push without a key.
	APIKey string
	// From is the address the request came from, as the connection says
	// (never a header a client can set); the zero Addr matches no network.
	From netip.Addr
	// Admin is the administrator (whose token the edge checked): no key
	// is asked for.
	Admin bool
}

// APIKey is a caller that presented key.
func APIKey(key string) Caller { return Caller{APIKey: key} }

// Admin is the administrator as a caller.
var Admin = Caller{Admin: true}

// Scope says which bizTypes a push may reach, as the API it came through
// allows.
type Scope int

const (
	// Specified pushes to a specified-scope bizType, into the stream of
	// the user or device LinkToken names (the single push API).
	Specified Scope = iota
	// Global pushes to a global bizType's stream, without LinkToken (the
	// global push API).
	Global
	// ByLinkToken is Specified with a LinkToken and Global without (the
	// admin console's "send data").
	ByLinkToken
)

// Request is one push, parsed and checked by the edge.
type Request struct {
	Scope      Scope
	BizType    string
	LinkToken  string // the userId or deviceId; "" for a global push
	ThirdMsgID string
	// Payload or Binary: one of them.
	Payload string
	Binary  []byte
	Filters Filters
	// ValidTimeEnd is ms since the epoch after which the entry is not
	// delivered; 0: none.
	ValidTimeEnd int64
}

// Filters restrict the clients an entry is delivered to.
type Filters struct {
	OSType        string
	AppMinVersion string
	AppMaxVersion string
}

// Result is a push's outcome: a result code of the push API
// (internal/resultcode), why when the service refused it, and the entry's
// oplog id when it was stored.
type Result struct {
	Code    string
	Detail  string
	OplogID uint64
	// Routed: the entry was sent to its stream (Code is the stream's
	// answer, or SYSTEM_ERROR when none came); false when the service
	// refused the push before.
	Routed bool
}

// Success reports whether the push API counts the result as success.
func (r Result) Success() bool { return resultcode.Successful(r.Code) }

// Options configure a Service.
type Options struct {
	Logger *slog.Logger
	// Now is the clock of the entries' policy and of the cache; default
	// time.Now.
	Now func() time.Time
	// Cache bounds the instance cache (its Now defaults to Now).
	Cache CacheOptions
	// Space, if set, is asked before an entry is stored: while the node's
	// disk is below its reserve, pushes that would store answer
	// SYSTEM_ERROR at once (transient ones, which store nothing, go on).
	Space persistence.SpaceGate
}

// Service is the push use case (see the package doc).
type Service struct {
	router Router
	cache  *InstanceCache
	log    *slog.Logger
	now    func() time.Time
	space  persistence.SpaceGate
}

// New returns the push service on router.
func New(router Router, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Cache.Now == nil {
		opts.Cache.Now = opts.Now
	}
	return &Service{router: router, cache: NewInstanceCache(router.PushContext, opts.Cache), log: opts.Logger, now: opts.Now, space: opts.Space}
}

// InstanceChanged tells the service that an instance journaled a change
// at version (the instance watch's notice): its cached context older
// than version is dropped.
func (s *Service) InstanceChanged(instanceID string, version uint64) {
	s.cache.Changed(instanceID, version)
}

// Invalidate drops the instance's cached context: the caller just changed
// the instance (its configs, keys, settings) or created it, so that the
// next push on this node sees the change.
func (s *Service) Invalidate(instanceID string) { s.cache.Invalidate(instanceID) }

// Tenant is an instance a caller may push to, with the push context the
// caller was checked against: pushes through it cost no further round
// trip to the instance.
type Tenant struct {
	s    *Service
	id   string
	inst *Instance
}

// Authorize checks that caller may push to the instance: the
// administrator, the instance's API key, or (with the setting pushAuth
// networks) an address of a listed network. It answers nil and the
// refusal (INSTANCE_NOT_FOUND whatever the key, UNAUTHORIZED, SYSTEM_ERROR
// when the instance did not answer), or the instance.
func (s *Service) Authorize(ctx context.Context, instanceID string, caller Caller) (*Tenant, Result) {
	inst, err := s.cache.Get(ctx, instanceID)
	switch {
	case err != nil:
		s.log.Warn("push context lookup failed", slog.String("instance", instanceID), slog.Any("err", err))
		return nil, Result{Code: resultcode.SystemError}
	case !inst.Exists():
		return nil, Result{Code: resultcode.InstanceNotFound}
	case !caller.Admin && !inst.KeyMatches(caller.APIKey) && !inst.OpenTo(caller.From):
		return nil, Result{Code: resultcode.Unauthorized}
	}
	return &Tenant{s: s, id: instanceID, inst: inst}, Result{}
}

// ID is the tenant's instance id.
func (t *Tenant) ID() string { return t.id }

// LogsPushes reports whether the instance asks for its push APIs' pushes
// to be recorded in its operation log (the setting logApiPushes).
func (t *Tenant) LogsPushes() bool { return t.inst.LogsPushes() }

// Push authorizes caller and pushes req: Authorize, then Tenant.Push.
func (s *Service) Push(ctx context.Context, instanceID string, caller Caller, req Request) Result {
	t, refused := s.Authorize(ctx, instanceID, caller)
	if t == nil {
		return refused
	}
	return t.Push(ctx, req)
}

// Push stores (or, for a transient bizType, delivers) one entry: it
// refuses a bizType that is missing or offline (BIZ_NOT_ONLINE) or of a
// scope req.Scope does not reach (NOT_SUPPORT_GLOBAL; ARGS_IS_NULL for a
// specified-scope push without linkToken), stamps the entry with the
// config's policy and routes it to its stream.
func (t *Tenant) Push(ctx context.Context, req Request) Result {
	if req.Scope == Specified && req.LinkToken == "" {
		return Result{Code: resultcode.ArgsIsNull, Detail: "linkToken is required"}
	}
	cfg, ok := t.inst.Config(req.BizType)
	if !ok || !cfg.Online {
		return Result{Code: resultcode.BizNotOnline}
	}
	global := cfg.Scope == opsyncpb.Scope_SCOPE_GLOBAL
	switch {
	case req.Scope == Specified && global:
		return Result{Code: resultcode.NotSupportGlobal, Detail: "bizType is global: use /webapi/sync/global"}
	case req.Scope == Global && !global:
		return Result{Code: resultcode.NotSupportGlobal, Detail: "bizType is not global: use /webapi/sync/single"}
	case req.Scope == ByLinkToken && global && req.LinkToken != "":
		return Result{Code: resultcode.NotSupportGlobal, Detail: "bizType is global: push without linkToken"}
	case req.Scope == ByLinkToken && !global && req.LinkToken == "":
		return Result{Code: resultcode.ArgsIsNull, Detail: "linkToken is required"}
	}
	if cfg.Persistent {
		if refused, ok := t.s.admit(); !ok {
			return refused
		}
	}
	entry := req.entryUnder(cfg, t.s.now().UnixMilli())
	var res *opsyncpb.PushResult
	var err error
	if global {
		res, err = t.s.router.PushGlobal(ctx, t.id, req.BizType, entry)
	} else {
		res, err = t.s.router.Push(ctx, t.id, cfg.Target, req.LinkToken, entry, !cfg.Persistent)
	}
	if err != nil {
		t.s.log.Warn("push failed", slog.String("instance", t.id), slog.Bool("global", global), slog.Any("err", err))
		return Result{Code: resultcode.SystemError, Routed: true}
	}
	return Result{Code: res.Code, OplogID: res.OplogId, Routed: true}
}

// Batch pushes many specified-scope entries: reqs[i] is answered in
// results[i] (a nil request is skipped: its result stays zero, for the
// caller to fill). An item of a bizType that is missing or offline is
// refused with BIZ_NOT_ONLINE, of a global one with NOT_SUPPORT_GLOBAL,
// of a transient one with ARGS_INVALID (transient entries go one by one,
// to whoever is online). The accepted items are grouped by stream, each
// stream's written in one journal append, the streams concurrently; a
// stream that fails answers SYSTEM_ERROR for each of its items.
func (t *Tenant) Batch(ctx context.Context, reqs []*Request) []Result {
	type streamKey struct {
		target    opsyncpb.Target
		linkToken string
	}
	type group struct {
		streamKey
		items   []int
		entries []*opsyncpb.Entry
	}
	results := make([]Result, len(reqs))
	now := t.s.now().UnixMilli()
	byStream := map[streamKey]*group{}
	var groups []*group
	for i, req := range reqs {
		if req == nil {
			continue
		}
		cfg, ok := t.inst.Config(req.BizType)
		switch {
		case req.LinkToken == "":
			results[i] = Result{Code: resultcode.ArgsIsNull, Detail: "linkToken is required"}
			continue
		case !ok || !cfg.Online:
			results[i] = Result{Code: resultcode.BizNotOnline}
			continue
		case cfg.Scope == opsyncpb.Scope_SCOPE_GLOBAL:
			results[i] = Result{Code: resultcode.NotSupportGlobal}
			continue
		case !cfg.Persistent:
			results[i] = Result{Code: resultcode.ArgsInvalid}
			continue
		}
		k := streamKey{cfg.Target, req.LinkToken}
		g := byStream[k]
		if g == nil {
			g = &group{streamKey: k}
			byStream[k] = g
			groups = append(groups, g)
		}
		g.items = append(g.items, i)
		g.entries = append(g.entries, req.entryUnder(cfg, now))
	}
	if len(groups) > 0 {
		if refused, ok := t.s.admit(); !ok {
			for _, g := range groups {
				for _, i := range g.items {
					results[i] = refused
				}
			}
			return results
		}
	}
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := t.s.router.PushBatch(ctx, t.id, g.target, g.linkToken, g.entries)
			if err == nil && len(res.Results) != len(g.entries) {
				err = errBatchAnswer
			}
			if err != nil {
				t.s.log.Warn("batch push failed", slog.String("instance", t.id), slog.Any("err", err))
			}
			for j, i := range g.items {
				if err != nil {
					results[i] = Result{Code: resultcode.SystemError, Routed: true}
					continue
				}
				rc := res.Results[j]
				results[i] = Result{Code: rc.Code, OplogID: rc.OplogId, Routed: true}
			}
		}()
	}
	wg.Wait()
	return results
}

// admit asks the space gate whether an entry may be stored now; the
// refusal is SYSTEM_ERROR (the source's code for "not stored, try again"),
// saying why.
func (s *Service) admit() (Result, bool) {
	if s.space == nil {
		return Result{}, true
	}
	if err := s.space.AdmitGrowth(); err != nil {
		return Result{Code: resultcode.SystemError, Detail: err.Error()}, false
	}
	return Result{}, true
}

var errBatchAnswer = errors.New("push: a stream answered a batch with the wrong number of results")
