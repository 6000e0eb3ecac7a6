package bench

import (
	"context"
	"flag"
	"io"
	"sort"
)

// Report is a scenario's result, printed as one JSON object.
type Report interface {
	// Failed reports whether the run went wrong (errors, lost writes): the
	// command then exits 1. Missed performance targets are not failures.
	Failed() bool
}

// TextReport is a Report that is printed for people (WriteText) unless
// its command was asked for JSON (WantsText false).
type TextReport interface {
	Report
	WantsText() bool
	WriteText(w io.Writer) error
}

// Scenario is one `opsync bench` scenario.
type Scenario struct {
	Name    string
	Summary string
	// Bind declares the scenario's own flags on fs and returns the
	// function that runs it with the parsed values.
	Bind func(fs *flag.FlagSet) func(ctx context.Context, env *Env) (Report, error)
	// Spawns: the scenario always spawns its node (--spawn is implied).
	Spawns bool
}

// UsageError is a scenario's refusal of its flags' values.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usageErr(msg string) error { return &UsageError{msg: msg} }

// report turns a scenario's result into a Report, nil when it has none.
func report[T any, R interface {
	*T
	Report
}](r R, err error) (Report, error) {
	if r == nil {
		return nil, err
	}
	return r, err
}

var scenarios = map[string]*Scenario{}

func register(s *Scenario) { scenarios[s.Name] = s }

// Lookup returns the scenario called name.
func Lookup(name string) *Scenario { return scenarios[name] }

// Scenarios lists the scenarios by name.
func Scenarios() []*Scenario {
	out := make([]*Scenario, 0, len(scenarios))
	for _, s := range scenarios {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
