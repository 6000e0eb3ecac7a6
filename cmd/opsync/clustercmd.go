package main

import (
	"io"
	"net/http"
	"net/url"
)

const clusterSynopsis = `opsync cluster <status|add-voter|remove-voter> --server URL [flags]

  status        the node's view of its set: members, raft state, leader, voters, indexes
  add-voter     make a node a raft voter: --id (its --remote/--advertise address) --raft-address HOST:PORT
  remove-voter  remove a node from the raft configuration: --id`

func runCluster(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("cluster", clusterSynopsis, stdout, stderr)
	verb, rest, code := splitVerb(fs, args, stdout)
	if code >= 0 {
		return code
	}
	server := serverFlag(fs)
	id := fs.String("id", "", "the node's id: its cluster address (--remote or --advertise of its serve)")
	raftAddr := fs.String("raft-address", "", "add-voter: the node's raft address (--raft of its serve)")
	admin := adminReadFlags(fs)
	if code := parseFlags(fs, rest, stdout); code >= 0 {
		return code
	}
	base := trimURL(*server) + "/api/v1/cluster"
	var method, target string
	var body any
	switch verb {
	case "status":
		method, target = http.MethodGet, base
	case "add-voter":
		if *id == "" || *raftAddr == "" {
			return usageError(stderr, fs, "add-voter needs --id and --raft-address")
		}
		method, target, body = http.MethodPost, base+"/voters", map[string]string{"id": *id, "raftAddress": *raftAddr}
	case "remove-voter":
		if *id == "" {
			return usageError(stderr, fs, "remove-voter needs --id")
		}
		method, target = http.MethodDelete, base+"/voters/"+url.PathEscape(*id)
	default:
		return usageError(stderr, fs, "unknown verb %q (status, add-voter, remove-voter)", verb)
	}
	return callAndPrint(stdout, stderr, "cluster "+verb, method, target, body, admin.option())
}
