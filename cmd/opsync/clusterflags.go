package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/opsync/opsync/internal/cluster"
	"github.com/opsync/opsync/internal/node"
	"github.com/opsync/opsync/internal/persistence/raftjournal"
)

// clusterFlags are serve's flags for running in a node set.
type clusterFlags struct {
	advertise     *string
	seeds         *string
	seedPort      *int
	etcd          *string
	etcdPrefix    *string
	raftAddr      *string
	raftBootstrap *string
	raftElection  *time.Duration
}

func addClusterFlags(fs *flag.FlagSet) *clusterFlags {
	return &clusterFlags{
		advertise:     fs.String("advertise", "", "cluster address other members dial, when it differs from --remote (host:port); a node's id in its set"),
		seeds:         fs.String("seeds", "", "membership addresses (host:seed-port) of every member of a static set, this one included, comma-separated"),
		seedPort:      fs.Int("seed-port", 0, "port this member answers membership polls on (with --seeds; protoactor binds it on all interfaces)"),
		etcd:          fs.String("etcd", "", "etcd endpoints (host:port, comma-separated): membership through etcd instead of --seeds"),
		etcdPrefix:    fs.String("etcd-prefix", "/opsync", "etcd key prefix of this set's members"),
		raftAddr:      fs.String("raft", "", "raft transport address (host:port): replicate the journal over the set's raft group"),
		raftBootstrap: fs.String("raft-bootstrap", "", "voters of a new set, as id=raftAddress pairs (id: the member's --remote/--advertise address), comma-separated; ignored once the node has raft state"),
		raftElection:  fs.Duration("raft-election-timeout", node.DefaultElectionTimeout, "raft heartbeat and election timeout: a lost leader is replaced within about 2 to 4 times this long"),
	}
}

func (f *clusterFlags) parse() (cluster.Membership, node.RaftConfig, error) {
	m := cluster.Membership{Seeds: commaList(*f.seeds), SeedPort: *f.seedPort, Etcd: commaList(*f.etcd), EtcdPrefix: *f.etcdPrefix}
	if len(m.Seeds) > 0 && m.SeedPort <= 0 {
		return m, node.RaftConfig{}, fmt.Errorf("--seeds needs --seed-port")
	}
	r := node.RaftConfig{Addr: *f.raftAddr, ElectionTimeout: *f.raftElection}
	for _, pair := range commaList(*f.raftBootstrap) {
		id, addr, ok := strings.Cut(pair, "=")
		if !ok || id == "" || addr == "" {
			return m, r, fmt.Errorf("--raft-bootstrap: %q is not id=raftAddress", pair)
		}
		r.Bootstrap = append(r.Bootstrap, raftjournal.Server{ID: id, Address: addr})
	}
	if len(r.Bootstrap) > 0 && r.Addr == "" {
		return m, r, fmt.Errorf("--raft-bootstrap needs --raft")
	}
	return m, r, nil
}

// commaList splits a comma-separated flag value, dropping empty items.
func commaList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
