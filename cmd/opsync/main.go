// Command opsync runs and operates opsync nodes. See README.md and
// SPEC's "CLI contract": serve, config, push, tail, journal, bench.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `opsync: a self-hosted, clustered data-sync server

usage: opsync <command> [flags]

commands:
  serve       run a node
  config      create, read, list, delete and switch bizType configs
  push        push one entry through the single (or global) push API
  tail        connect as a client and print each delivered message as JSON
  journal     inspect a stopped node's journal offline
  records     a user's or device's records: connected, pushes, arrivals, entries
  instance    create, read, list instances; rotate their keys; change their settings
  operations  query an instance's operation log (deprecated alias: oplog)
  cluster     a node set's members and raft voters: status, add-voter, remove-voter
  bench       load generator (push throughput and latency)
  block       block entities: create, update, get, message, watch
  card        interactive cards: create, update, deliver, get, register-callback, watch
  doc         collaborative documents: watch

'opsync <command> --help' describes a command's flags.
`

type command func(args []string, stdout, stderr io.Writer) int

var commands = map[string]command{
	"serve":      runServe,
	"config":     runConfig,
	"push":       runPush,
	"tail":       runTail,
	"journal":    runJournal,
	"records":    runRecords,
	"instance":   runInstance,
	"operations": runOperations,
	"oplog":      runOperations, // deprecated alias of operations
	"cluster":    runCluster,
	"bench":      runBench,
	"block":      runBlock,
	"card":       runCard,
	"doc":        runDoc,
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "opsync: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return cmd(args[1:], stdout, stderr)
}
