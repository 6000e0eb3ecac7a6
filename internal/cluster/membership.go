package cluster

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/automanaged"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	"github.com/labstack/echo"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Membership says how a member finds the other members of its set. With
// neither seeds nor etcd endpoints the node is a standalone set of one.
type Membership struct {
	// Seeds are the membership addresses (host:port) of every member of a
	// small static set, this one included: protoactor's automanaged
	// provider polls each of them for the members' health and kinds.
	Seeds []string
	// SeedPort is the port this member answers those polls on. protoactor
	// listens on it on every interface; it cannot be bound to one.
	SeedPort int
	// RefreshInterval is how often seeds are polled (default 1 s): a dead
	// member's actors move after about this long.
	RefreshInterval time.Duration

	// Etcd lists etcd endpoints (host:port): members register under
	// EtcdPrefix with a lease, and leave the set when it expires.
	Etcd       []string
	EtcdPrefix string
}

// Clustered reports whether m describes a node set rather than a
// standalone node.
func (m Membership) Clustered() bool { return len(m.Seeds) > 0 || len(m.Etcd) > 0 }

// provider builds the protoactor membership provider m describes.
func (m Membership) provider() (pcluster.ClusterProvider, error) {
	switch {
	case len(m.Etcd) > 0 && len(m.Seeds) > 0:
		return nil, fmt.Errorf("cluster: give seeds or etcd endpoints, not both")
	case len(m.Etcd) > 0:
		prefix := m.EtcdPrefix
		if prefix == "" {
			prefix = "/opsync"
		}
		p, err := etcd.NewWithConfig(prefix, clientv3.Config{Endpoints: m.Etcd, DialTimeout: 5 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("cluster: etcd: %w", err)
		}
		return p, nil
	case len(m.Seeds) > 0:
		if m.SeedPort <= 0 {
			return nil, fmt.Errorf("cluster: seeds need this member's seed port")
		}
		for _, s := range m.Seeds {
			if _, _, err := net.SplitHostPort(s); err != nil {
				return nil, fmt.Errorf("cluster: seed %q: %w", s, err)
			}
		}
		refresh := m.RefreshInterval
		if refresh <= 0 {
			refresh = time.Second
		}
		server := quietEcho()
		return &seedProvider{AutoManagedProvider: automanaged.NewWithTesting(refresh, m.SeedPort, server, m.Seeds...), server: server,
			rejoin: newRejoinWatch(m.Seeds, refresh)}, nil
	default:
		return singleMember{}, nil
	}
}

// seedProvider is the automanaged provider serving its own health answer:
// given a server of ours, protoactor neither prints its banner to stdout
// nor registers a route, so the route is added here once the member's
// address is known.
type seedProvider struct {
	*automanaged.AutoManagedProvider
	server *echo.Echo
	rejoin *rejoinWatch
}

func quietEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	return e
}

func (p *seedProvider) StartMember(c *pcluster.Cluster) error {
	host, port, err := c.ActorSystem.GetHostPort()
	if err != nil {
		return err
	}
	self := automanaged.NewNode(c.Config.Name, c.ActorSystem.ID, host, port, 0, c.GetClusterKinds())
	p.server.GET("/_health", func(ctx echo.Context) error { return ctx.JSON(http.StatusOK, self) })
	if err := p.AutoManagedProvider.StartMember(c); err != nil {
		return err
	}
	go p.rejoin.run(c)
	return nil
}

func (p *seedProvider) Shutdown(graceful bool) error {
	p.rejoin.close()
	return p.AutoManagedProvider.Shutdown(graceful)
}

// splitHostPort parses host:port with a numeric port.
func splitHostPort(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", portStr, err)
	}
	return host, port, nil
}
