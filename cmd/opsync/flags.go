package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// newFlags returns a flag set whose --help prints to stdout.
func newFlags(name, synopsis string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; it returns the exit code to end with, or -1 to
// go on. --help prints usage to stdout and ends with 0; a flag error prints
// the error and usage to stderr and ends with 2. Usage is printed here
// only, once: Parse would print it too, to stderr, before returning.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) int {
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return 0
	}
	if err != nil {
		fs.Usage()
		return 2
	}
	return -1
}

// usageError reports a usage error on stderr and returns exit code 2.
func usageError(stderr io.Writer, fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	return 2
}

// serverFlag declares --server, defaulting to $OPSYNC_SERVER or the
// embedded node's address.
func serverFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("OPSYNC_SERVER")
	if def == "" {
		def = "http://127.0.0.1:8470"
	}
	return fs.String("server", def, "base URL of an opsync node (env OPSYNC_SERVER)")
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// splitVerb takes the verb of a command with verbs (config, bench). With
// no verb it prints usage to stderr and ends with 2; with --help it prints
// usage to stdout and ends with 0; else code is -1.
func splitVerb(fs *flag.FlagSet, args []string, stdout io.Writer) (verb string, rest []string, code int) {
	if len(args) == 0 {
		fs.Usage()
		return "", nil, 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fs.SetOutput(stdout)
		fs.Usage()
		return "", nil, 0
	}
	return args[0], args[1:], -1
}
