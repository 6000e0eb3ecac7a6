package cluster

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/opsync/opsync/actors"
)

// Config configures a node's cluster member.
type Config struct {
	// Name is the cluster name; members of one set must share it.
	Name string
	// RemoteAddr is where the member listens for other members
	// (host:port; port 0 picks a free one). Default 127.0.0.1:0.
	RemoteAddr string
	// Logger receives protoactor's warnings and errors.
	Logger *slog.Logger
}

// Member is a running cluster member.
type Member struct {
	system  *actor.ActorSystem
	cluster *pcluster.Cluster
}

// Start boots the member with the stream, instance and registry kinds,
// backed by deps.
func Start(cfg Config, deps *actors.Deps) (*Member, error) {
	if cfg.Name == "" {
		cfg.Name = "opsync"
	}
	if cfg.RemoteAddr == "" {
		cfg.RemoteAddr = "127.0.0.1:0"
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	host, portStr, err := net.SplitHostPort(cfg.RemoteAddr)
	if err != nil {
		return nil, fmt.Errorf("cluster: remote address %q: %w", cfg.RemoteAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("cluster: remote port %q: %w", portStr, err)
	}
	system := actor.NewActorSystemWithConfig(actor.Configure(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }),
	))
	ccfg := pcluster.Configure(cfg.Name, singleMember{}, disthash.New(), remote.Configure(host, port),
		pcluster.WithKinds(actors.StreamKind(deps), actors.InstanceKind(deps), actors.RegistryKind(deps)))
	c := pcluster.New(system, ccfg)
	if err := startMember(c); err != nil {
		return nil, err
	}
	return &Member{system: system, cluster: c}, nil
}

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

// Stop leaves the cluster and stops every actor of this member.
func (m *Member) Stop() { m.cluster.Shutdown(false) }

// Activations counts the actors of each kind activated on this member.
func (m *Member) Activations() map[string]int {
	out := map[string]int{}
	for _, kind := range []string{actors.KindStream, actors.KindInstance} {
		if k, ok := m.cluster.TryGetClusterKind(kind); ok {
			out[kind] = int(k.Count())
		}
	}
	return out
}
