package cluster

import (
	"errors"

	pcluster "github.com/asynkron/protoactor-go/cluster"
)

// singleMember is the membership provider of a standalone node: the
// cluster's only member is the node itself, so nothing listens beyond the
// node's own remote address and no peer is ever contacted.
type singleMember struct{}

func (singleMember) StartMember(c *pcluster.Cluster) error {
	host, port, err := c.ActorSystem.GetHostPort()
	if err != nil {
		return err
	}
	c.MemberList.UpdateClusterTopology(pcluster.Members{{
		Id:    c.ActorSystem.ID,
		Host:  host,
		Port:  int32(port),
		Kinds: c.GetClusterKinds(),
	}})
	return nil
}

func (singleMember) StartClient(*pcluster.Cluster) error {
	return errors.New("cluster: a standalone node has no client mode")
}

func (singleMember) Shutdown(bool) error { return nil }
