package push

import (
	"container/list"
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// CacheTTL is how long a cached push context is used at most. It bounds
// how long a node that missed a change notice (a partition) keeps pushing
// under the old configs or key.
const CacheTTL = 2 * time.Second

// Bounds of the instance cache.
const (
	// DefaultCacheInstances is the most instances whose push context is
	// kept.
	DefaultCacheInstances = 10_000
	// DefaultCacheMissing is the most ids of instances that do not exist
	// that are remembered (kept apart, so that they never evict the
	// contexts of instances that do).
	DefaultCacheMissing = 1_000
)

// CacheOptions configure an InstanceCache; zero values take the defaults.
type CacheOptions struct {
	TTL       time.Duration // default CacheTTL
	Instances int           // default DefaultCacheInstances
	Missing   int           // default DefaultCacheMissing
	Now       func() time.Time
}

// Loader fetches an instance's push context: one round trip to the
// instance actor.
type Loader func(ctx context.Context, instanceID string) (*opsyncpb.PushContext, error)

// Instance is an instance's push context as the cache holds it. It is
// shared by concurrent pushes and never changed.
type Instance struct {
	exists bool
	// apiKeyHash is the hash of the instance's API key: the cache, as
	// the instance, never holds the key.
	apiKeyHash []byte
	configs    map[string]*opsyncpb.BizTypeConfig
	version    uint64
	// open lists the networks that may push without a key (the setting
	// pushAuth networks); nil: the key is required.
	open []netip.Prefix
	// logPushes: the instance records the push APIs' pushes in its
	// operation log.
	logPushes bool
}

func newInstance(pc *opsyncpb.PushContext) *Instance {
	in := &Instance{exists: pc.InstanceExists, apiKeyHash: pc.ApiKeyHash, version: pc.Version, configs: make(map[string]*opsyncpb.BizTypeConfig, len(pc.Configs)),
		logPushes: pc.GetSettings().GetLogApiPushes()}
	for _, c := range pc.Configs {
		in.configs[c.BizType] = c
	}
	if pc.GetSettings().GetPushAuth() == opsyncpb.PushAuth_PUSH_AUTH_NETWORKS {
		for _, n := range pc.GetSettings().GetPushNetworks() {
			// The instance stored them canonical; one that does not parse
			// (written by a later version) opens nothing.
			if p, err := netip.ParsePrefix(n); err == nil {
				in.open = append(in.open, p)
			}
		}
	}
	return in
}

// Exists reports whether the instance was created.
func (in *Instance) Exists() bool { return in.exists }

// Version is the instance journal's sequence number the context was read
// at.
func (in *Instance) Version() uint64 { return in.version }

// KeyMatches reports, in constant time, whether key is the instance's API
// key (hashes to its hash). An instance without a key matches none.
func (in *Instance) KeyMatches(key string) bool { return auth.MatchesHash(key, in.apiKeyHash) }

// OpenTo reports whether addr may push without a key: the instance lets
// keyless pushes come from a network that holds addr.
func (in *Instance) OpenTo(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range in.open {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// LogsPushes reports whether the instance records the push APIs' pushes in
// its operation log.
func (in *Instance) LogsPushes() bool { return in.logPushes }

// Config is the bizType's config (shared: read only).
func (in *Instance) Config(bizType string) (*opsyncpb.BizTypeConfig, bool) {
	c, ok := in.configs[bizType]
	return c, ok
}

// InstanceCache keeps instances' push contexts on this node. A context is
// used until CacheTTL after it was read, or until Changed or Invalidate
// drops it; the least recently used are evicted beyond the bounds.
// Concurrent lookups of one instance that is not cached share one load.
type InstanceCache struct {
	load Loader
	ttl  time.Duration
	now  func() time.Time

	mu       sync.Mutex
	entries  map[string]*list.Element // of found or missing
	found    *list.List               // *cached of instances that exist; front: most recently used
	missing  *list.List               // *cached of instances that do not
	caps     [2]int                   // found, missing
	inflight map[string]*lookup
}

type cached struct {
	id      string
	inst    *Instance
	expires time.Time
}

// lookup is a load under way; the pushes that want the same instance
// meanwhile wait for it.
type lookup struct {
	done    chan struct{}
	inst    *Instance
	err     error
	waiters int // lookups that joined it
}

// NewInstanceCache returns a cache that loads contexts with load.
func NewInstanceCache(load Loader, opts CacheOptions) *InstanceCache {
	if opts.TTL <= 0 {
		opts.TTL = CacheTTL
	}
	if opts.Instances <= 0 {
		opts.Instances = DefaultCacheInstances
	}
	if opts.Missing <= 0 {
		opts.Missing = DefaultCacheMissing
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &InstanceCache{load: load, ttl: opts.TTL, now: opts.Now, entries: map[string]*list.Element{},
		found: list.New(), missing: list.New(), caps: [2]int{opts.Instances, opts.Missing}, inflight: map[string]*lookup{}}
}

// Get returns the instance's push context: the cached one while it is
// fresh (a hit), else one loaded now (a miss: one round trip, shared with
// the lookups of the same instance that come meanwhile, which count as
// hits).
func (c *InstanceCache) Get(ctx context.Context, instanceID string) (*Instance, error) {
	c.mu.Lock()
	if el, ok := c.entries[instanceID]; ok {
		e := el.Value.(*cached)
		if c.now().Before(e.expires) {
			c.listOf(e).MoveToFront(el)
			c.mu.Unlock()
			metrics.PushCache.WithLabelValues("hit").Inc()
			return e.inst, nil
		}
		c.remove(el)
	}
	if l, ok := c.inflight[instanceID]; ok {
		l.waiters++
		c.mu.Unlock()
		metrics.PushCache.WithLabelValues("hit").Inc()
		select {
		case <-l.done:
			return l.inst, l.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	l := &lookup{done: make(chan struct{})}
	c.inflight[instanceID] = l
	c.mu.Unlock()

	metrics.PushCache.WithLabelValues("miss").Inc()
	metrics.PushInstanceRequests.Inc()
	pc, err := c.load(ctx, instanceID)
	if err == nil {
		l.inst = newInstance(pc)
	} else {
		l.err = err
	}
	c.mu.Lock()
	// A change notice that came during the load dropped the lookup: its
	// answer may predate the change, so it serves the pushes that were
	// waiting for it but is not kept.
	if c.inflight[instanceID] == l {
		delete(c.inflight, instanceID)
		if err == nil {
			c.store(instanceID, l.inst)
		}
	}
	c.mu.Unlock()
	close(l.done)
	return l.inst, l.err
}

// Changed drops the instance's context unless it was read at version or
// later: the instance journaled a change at version. A load under way is
// not kept.
func (c *InstanceCache) Changed(instanceID string, version uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[instanceID]; ok && el.Value.(*cached).inst.version < version {
		c.remove(el)
	}
	delete(c.inflight, instanceID)
}

// Invalidate drops the instance's context whatever its version, and does
// not keep a load under way: the caller saw the instance change.
func (c *InstanceCache) Invalidate(instanceID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[instanceID]; ok {
		c.remove(el)
	}
	delete(c.inflight, instanceID)
}

// Len is the number of instances cached (existing and missing).
func (c *InstanceCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *InstanceCache) listOf(e *cached) *list.List {
	if e.inst.exists {
		return c.found
	}
	return c.missing
}

func (c *InstanceCache) remove(el *list.Element) {
	e := el.Value.(*cached)
	c.listOf(e).Remove(el)
	delete(c.entries, e.id)
}

// store keeps inst, evicting the least recently used beyond the bound of
// its list.
func (c *InstanceCache) store(instanceID string, inst *Instance) {
	if el, ok := c.entries[instanceID]; ok {
		c.remove(el)
	}
	e := &cached{id: instanceID, inst: inst, expires: c.now().Add(c.ttl)}
	l, bound := c.found, c.caps[0]
	if !inst.exists {
		l, bound = c.missing, c.caps[1]
	}
	c.entries[instanceID] = l.PushFront(e)
	for l.Len() > bound {
		c.remove(l.Back())
	}
}
