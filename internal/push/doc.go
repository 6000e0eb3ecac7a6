// Package push is opsync's push use case: the one path every push takes,
// whichever API it came through (single, global, batch, the admin
// console's push, and the update APIs of the families to come). It sits
// between the edge and the cluster:
//
//	edge (HTTP: parse, check input, answer)
//	  → push.Service (who may push, the bizType's config, the entry's policy, where it goes)
//	    → cluster routing (Router: cluster.Member)
//	      → actors (the stream actor stores and delivers the entry)
//
// The edge parses and validates the request and says how the caller
// authenticated (Caller: an API key presented, or the administrator). The
// service checks the key against the instance's (constant time), looks up
// the bizType's config, refuses with the push API's result codes, stamps
// the entry with the config's policy (retention, validity, threshold,
// retries, single-device delivery) so that the stream applies the policy
// as it was when the entry came, routes it (one stream, a global stream,
// or a batch grouped by stream, the streams concurrently) and returns the
// results. It never speaks HTTP: the edge maps result codes to answers.
//
// # The instance cache
//
// What a push needs of its instance (API key hash, configs: the push context)
// comes from the instance actor in one round trip, GetPushContext, and is
// kept in a node-local InstanceCache: a hit costs no round trip, a miss
// exactly one (concurrent misses of one instance share it). The cache is
// bounded (DefaultCacheInstances instances, DefaultCacheMissing ids of
// instances that do not exist, least recently used evicted first), so
// memory does not grow with what clients send, and ids of missing
// instances are remembered too, so random ids do not activate instance
// actors at every push.
//
// Every change an instance journals (configs, keys, settings, creation)
// reaches every node's cache: the instance actor sends InstanceChanged to
// each member's instance watch actor (internal/cluster), which calls
// Service.InstanceChanged; the node whose edge served the change also
// drops the entry at once (Service.Invalidate) before it answers. A notice
// lost in a partition is covered by the TTL: a cached context is used for
// at most CacheTTL (2 s), so a config change or a key rotation takes effect
// on every node within CacheTTL, and on the node that served it at once.
package push
