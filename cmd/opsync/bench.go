package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/opsync/opsync/internal/bench"
)

// runBench dispatches `opsync bench <scenario>` to the bench package: one
// JSON report on stdout, progress on stderr, exit 1 when the run failed
// (errors, or for chaos a lost write), never for a missed target.
func runBench(args []string, stdout, stderr io.Writer) int {
	var list strings.Builder
	for _, s := range bench.Scenarios() {
		fmt.Fprintf(&list, "  %-14s %s\n", s.Name, s.Summary)
	}
	fmt.Fprintf(&list, "  %-14s %s\n", "report", "run the Go benchmarks and the standard set; write docs/benchmarks.{json,md}")
	synopsis := "opsync bench <scenario> [--server URL | --spawn] [flags]\n\nscenarios:\n" + list.String() +
		"\n'opsync bench <scenario> --help' lists a scenario's flags."
	fs := newFlags("bench", synopsis, stdout, stderr)
	verb, rest, code := splitVerb(fs, args, stdout)
	if code >= 0 {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if verb == "report" {
		return runBenchReport(ctx, rest, stdout, stderr)
	}
	sc := bench.Lookup(verb)
	if sc == nil {
		return usageError(stderr, fs, "unknown scenario %q", verb)
	}
	fs = newFlags("bench "+verb, "opsync bench "+verb+" [--server URL | --spawn] [flags]\n\n  "+sc.Summary, stdout, stderr)
	server := serverFlag(fs)
	env := &bench.Env{Log: stderr}
	env.Flags(fs)
	adminToken := newSecretFlag(fs, "admin-token", "OPSYNC_ADMIN_TOKEN", "admin API `token` (env OPSYNC_ADMIN_TOKEN); a spawned node gets it, or a generated one")
	apiKey := newSecretFlag(fs, "api-key", "OPSYNC_API_KEY", "the instance's push API `key` (env OPSYNC_API_KEY; default: the one the admin API answers when the run creates the instance)")
	run := sc.Bind(fs)
	if code := parseFlags(fs, rest, stdout); code >= 0 {
		return code
	}
	env.Server, env.AdminToken, env.APIKey = *server, adminToken.get(), apiKey.get()
	if fs.NArg() > 0 {
		return usageError(stderr, fs, "unexpected argument %q", fs.Arg(0))
	}
	r, err := run(ctx, env)
	if t, ok := r.(bench.TextReport); ok && t.WantsText() {
		_ = t.WriteText(stdout)
	} else if r != nil {
		_ = json.NewEncoder(stdout).Encode(r)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench %s: %v\n", verb, err)
		return 1
	}
	if r.Failed() {
		return 1
	}
	return 0
}

func runBenchReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench report", "opsync bench report [--out docs/benchmarks] [flags]\n\n"+
		"  runs the Go benchmarks and the standard scenario set, each scenario as its own\n"+
		"  `opsync bench` process with --spawn, and writes OUT.json and the tables of OUT.md", stdout, stderr)
	o := bench.ReportOptions{Log: stderr}
	o.Flags(fs)
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, fs, "unexpected argument %q", fs.Arg(0))
	}
	rep, err := bench.RunReport(ctx, o)
	if rep != nil {
		_ = json.NewEncoder(stdout).Encode(rep.Summary())
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench report: %v\n", err)
		return 1
	}
	return 0
}
