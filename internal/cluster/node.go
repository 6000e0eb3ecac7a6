package cluster

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/opsync/opsync/internal/actors"
)

// Config configures a node's cluster member.
type Config struct {
	// Name is the cluster name; members of one set must share it.
	Name string
	// RemoteAddr is where the member listens for other members
	// (host:port; port 0 picks a free one). Default 127.0.0.1:0.
	RemoteAddr string
	// AdvertiseAddr is the host:port other members reach this one at,
	// when it differs from RemoteAddr (a wildcard bind, NAT).
	AdvertiseAddr string
	// Membership says how members find each other; zero: standalone.
	Membership Membership
	// System is the actor system to run the member on; nil makes one.
	// A node that spawns actors of its own before the member starts (the
	// replicated journal's) makes it with NewSystem and passes it here.
	System *actor.ActorSystem
	// Logger receives protoactor's warnings and errors.
	Logger *slog.Logger
}

// Member is a running cluster member.
type Member struct {
	system     *actor.ActorSystem
	cluster    *pcluster.Cluster
	departures *departures
	log        *slog.Logger
	rejoin     <-chan struct{}
	watch      *actor.PID
	watchers   *watchers
}

// NewSystem makes the actor system a member runs on.
func NewSystem(logger *slog.Logger) *actor.ActorSystem {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return actor.NewActorSystemWithConfig(actor.Configure(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }),
	))
}

// Start boots the member with the stream, instance and registry kinds,
// backed by deps, and joins the set cfg.Membership describes.
func Start(cfg Config, deps *actors.Deps) (*Member, error) {
	if cfg.Name == "" {
		cfg.Name = "opsync"
	}
	if cfg.RemoteAddr == "" {
		cfg.RemoteAddr = "127.0.0.1:0"
	}
	host, port, err := splitHostPort(cfg.RemoteAddr)
	if err != nil {
		return nil, fmt.Errorf("cluster: remote address %q: %w", cfg.RemoteAddr, err)
	}
	var ropts []remote.ConfigOption
	if cfg.AdvertiseAddr != "" {
		if _, _, err := splitHostPort(cfg.AdvertiseAddr); err != nil {
			return nil, fmt.Errorf("cluster: advertise address %q: %w", cfg.AdvertiseAddr, err)
		}
		ropts = append(ropts, remote.WithAdvertisedHost(cfg.AdvertiseAddr))
	}
	provider, err := cfg.Membership.provider()
	if err != nil {
		return nil, err
	}
	system := cfg.System
	if system == nil {
		system = NewSystem(cfg.Logger)
	}
	kdeps := *deps
	kdeps.System = system // instance actors tell every member's watch actor about their changes
	ccfg := pcluster.Configure(cfg.Name, provider, disthash.New(), remote.Configure(host, port, ropts...),
		pcluster.WithKinds(actors.StreamKind(&kdeps), actors.InstanceKind(&kdeps), actors.RegistryKind(&kdeps), actors.BlockKind(&kdeps), actors.CardKind(&kdeps),
			actors.DocDataKind(&kdeps), actors.DocEnvKind(&kdeps), actors.DocHooksKind(&kdeps), actors.DocSessionKind(&kdeps)))
	c := pcluster.New(system, ccfg)
	// The watch actor is there before the member joins, so no notice sent
	// to it once the member is known finds it missing.
	subs := &watchers{}
	gone := newDepartures()
	gone.subscribe(system)
	watch, err := spawnInstanceWatch(system, subs)
	if err != nil {
		return nil, fmt.Errorf("cluster: instance watch: %w", err)
	}
	if err := startMember(c); err != nil {
		system.Root.Stop(watch)
		return nil, err
	}
	if err := actors.StartHub(system); err != nil {
		c.Shutdown(true)
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Member{system: system, cluster: c, departures: gone, log: log, watch: watch, watchers: subs}
	// The client actors of this node read an instance's configs anew on
	// its change notice: offline, deleted or back, delivery follows.
	m.OnInstanceChanged(func(instanceID string, _ uint64) { actors.RefreshClientConfigs(system, c, instanceID) })
	if sp, ok := provider.(*seedProvider); ok {
		m.rejoin = sp.rejoin.needed
	}
	return m, nil
}

// RejoinNeeded is closed when this member was cut off from its set and
// the set answers again: protoactor will not take it back under its old
// member id, so the process should restart (see rejoinWatch). Nil (never
// ready) for members that do not watch for it.
func (m *Member) RejoinNeeded() <-chan struct{} { return m.rejoin }

// startMember turns protoactor's panics on a failed start (a remote port
// in use, say) into an error.
func startMember(c *pcluster.Cluster) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cluster: start member: %v", r)
		}
	}()
	c.StartMember()
	return nil
}

// RemoteAddr is the address other members reach this one at.
func (m *Member) RemoteAddr() string { return m.system.Address() }

// Members lists the remote addresses of the set's current members, as
// this member sees them.
func (m *Member) Members() []string {
	var out []string
	for _, mem := range m.cluster.MemberList.Members().Members() {
		out = append(out, mem.Address())
	}
	return out
}

// Stop leaves the cluster and stops every actor of this member.
func (m *Member) Stop() {
	m.cluster.Shutdown(true)
	m.system.Root.Stop(m.watch)
}

// Activations counts the actors of each kind activated on this member.
func (m *Member) Activations() map[string]int {
	out := map[string]int{}
	for _, kind := range []string{actors.KindStream, actors.KindInstance, actors.KindBlock, actors.KindCard} {
		if k, ok := m.cluster.TryGetClusterKind(kind); ok {
			out[kind] = int(k.Count())
		}
	}
	return out
}
