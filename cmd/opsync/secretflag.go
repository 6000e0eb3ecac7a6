package main

import (
	"flag"
	"os"
)

// secretFlag is a flag holding a credential that may also come from an
// environment variable. The environment's value is read when the
// credential is used, never made the flag's default: the flag package
// prints defaults in every usage (--help, and after a flag error), and no
// command may print a secret it did not create.
type secretFlag struct {
	value string
	set   bool
	env   string
}

// newSecretFlag declares --name on fs, falling back to $env. A word of
// usage in backquotes names the flag's argument (see flag.UnquoteUsage).
func newSecretFlag(fs *flag.FlagSet, name, env, usage string) *secretFlag {
	s := &secretFlag{env: env}
	fs.Var(s, name, usage)
	return s
}

// String is what usage shows as the default: nothing, whatever is set.
func (s *secretFlag) String() string { return "" }

func (s *secretFlag) Set(v string) error {
	s.value, s.set = v, true
	return nil
}

// get returns the flag's value if given, else the environment's.
func (s *secretFlag) get() string {
	if s.set {
		return s.value
	}
	return os.Getenv(s.env)
}
