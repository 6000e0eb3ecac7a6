package edge

import (
	"context"
	"errors"
	"net"
	"net/http"
)

// ClusterAdmin manages the voters of a replicated journal. The node hands
// one to the edge when it runs with the replicated journal; without it the
// cluster endpoints describe a standalone node and refuse changes.
type ClusterAdmin interface {
	Status(ctx context.Context) (ClusterStatus, error)
	AddVoter(ctx context.Context, id, raftAddress string) error
	RemoveServer(ctx context.Context, id string) error
}

// ClusterStatus is GET /api/v1/cluster's answer.
type ClusterStatus struct {
	// Journal is "local" (a standalone node's own Pebble journal) or
	// "raft" (replicated by the set's raft group).
	Journal string `json:"journal"`
	// Node is this node's id: its cluster (remote) address.
	Node string `json:"node"`
	// Members are the cluster members this node sees (remote addresses).
	Members []string `json:"members"`
	// The fields below describe the raft group; empty for "local".
	State        string       `json:"state,omitempty"`
	Leader       string       `json:"leader,omitempty"`
	Servers      []RaftServer `json:"servers,omitempty"`
	CommitIndex  uint64       `json:"commitIndex,omitempty"`
	AppliedIndex uint64       `json:"appliedIndex,omitempty"`
	LastIndex    uint64       `json:"lastIndex,omitempty"`
	// ReplicaIndex: the highest raft index this node's replica has
	// written (AppliedIndex may be ahead of it by a batch in flight).
	ReplicaIndex uint64 `json:"replicaIndex,omitempty"`
}

// RaftServer is one server of the raft configuration.
type RaftServer struct {
	ID       string `json:"id"`
	Address  string `json:"raftAddress"`
	Suffrage string `json:"suffrage"`
}

// ErrNotReplicated is what a standalone node's ClusterAdmin answers to a
// voter change.
var ErrNotReplicated = errors.New("this node keeps a local journal: start it with --raft to manage voters")

// VoterRequest is POST /api/v1/cluster/voters's body.
type VoterRequest struct {
	ID          string `json:"id"`
	RaftAddress string `json:"raftAddress"`
}

func (s *Server) routeCluster() {
	s.mux.HandleFunc("GET /api/v1/cluster", s.clusterStatus)
	s.mux.HandleFunc("POST /api/v1/cluster/voters", s.clusterAddVoter)
	s.mux.HandleFunc("DELETE /api/v1/cluster/voters/{id}", s.clusterRemove)
}

func (s *Server) clusterStatus(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	if s.opts.Cluster == nil {
		writeJSON(w, http.StatusOK, ClusterStatus{Journal: "local", Node: s.member.RemoteAddr(), Members: s.member.Members()})
		return
	}
	st, err := s.opts.Cluster.Status(ctx)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	st.Members = s.member.Members()
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) clusterAddVoter(w http.ResponseWriter, r *http.Request) {
	var req VoterRequest
	if !readJSON(w, r, &req) {
		return
	}
	if !validHostPort(req.ID) || !validHostPort(req.RaftAddress) {
		writeError(w, http.StatusBadRequest, "INVALID", "id (the node's cluster address) and raftAddress must both be host:port")
		return
	}
	s.clusterChange(w, r, func(ctx context.Context, c ClusterAdmin) error { return c.AddVoter(ctx, req.ID, req.RaftAddress) })
}

func (s *Server) clusterRemove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validHostPort(id) {
		writeError(w, http.StatusBadRequest, "INVALID", "id must be the node's cluster address, host:port")
		return
	}
	s.clusterChange(w, r, func(ctx context.Context, c ClusterAdmin) error { return c.RemoveServer(ctx, id) })
}

func (s *Server) clusterChange(w http.ResponseWriter, r *http.Request, change func(context.Context, ClusterAdmin) error) {
	if s.opts.Cluster == nil {
		writeError(w, http.StatusConflict, "NOT_REPLICATED", ErrNotReplicated.Error())
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	if err := change(ctx, s.opts.Cluster); err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	s.clusterStatus(w, r)
}

func validHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	return err == nil && host != "" && port != "" && port != "0"
}
