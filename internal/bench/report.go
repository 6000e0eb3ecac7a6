package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// GoBenchArgs are the arguments of the Go benchmarks' `go test`.
var GoBenchArgs = []string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", "2s", "./internal/persistence/", "./internal/node/"}

// ReportOptions configure `opsync bench report`.
type ReportOptions struct {
	// Out is the path of the report without extension: Out.json is
	// written, the generated part of Out.md replaced.
	Out string
	// GoBench runs the Go benchmarks (from the module in the working
	// directory) with GoTool.
	GoBench bool
	GoTool  string
	// Only names the scenarios to run (all when empty).
	Only string
	// Binary runs the scenarios (default: this executable).
	Binary string
	// Rows is the set to run (default Standard()).
	Rows []Row
	Log  io.Writer
}

// Flags declares the options' flags.
func (o *ReportOptions) Flags(fs *flag.FlagSet) {
	fs.StringVar(&o.Out, "out", "docs/benchmarks", "write OUT.json and the generated tables of OUT.md")
	fs.BoolVar(&o.GoBench, "go-bench", true, "run the Go benchmarks: go "+strings.Join(GoBenchArgs, " "))
	fs.StringVar(&o.GoTool, "go", "go", "the go command")
	fs.StringVar(&o.Only, "only", "", "comma-separated scenarios to run (push, push-batch, fanout, conns, catchup, recovery); default all")
	fs.StringVar(&o.Binary, "opsync-bin", "", "opsync binary running the scenarios (default: this executable)")
}

// Machine describes where a report was made.
type Machine struct {
	CPU         string `json:"cpu"`
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memoryBytes"`
	Kernel      string `json:"kernel"`
	GoVersion   string `json:"goVersion"`
	Commit      string `json:"commit,omitempty"`
	Date        string `json:"date"`
}

// GoBenchResult is one line of `go test -bench` output.
type GoBenchResult struct {
	Package    string             `json:"package"`
	Name       string             `json:"name"`
	Iterations int64              `json:"iterations"`
	Metrics    map[string]float64 `json:"metrics"`
	Units      []string           `json:"units"`
}

// ScenarioResult is one row's run.
type ScenarioResult struct {
	Name     string          `json:"name"`
	Command  string          `json:"command"`
	Seconds  float64         `json:"seconds"`
	ExitCode int             `json:"exitCode"`
	Report   json.RawMessage `json:"report,omitempty"`
	Error    string          `json:"error,omitempty"`
	Values   []Value         `json:"values"`
	Targets  []TargetResult  `json:"targets,omitempty"`
}

// Value is a shown metric's value.
type Value struct {
	Metric
	Value float64 `json:"value"`
	Found bool    `json:"found"`
}

// TargetResult is a target and whether the run met it.
type TargetResult struct {
	Target string  `json:"target"`
	Value  float64 `json:"value"`
	Met    bool    `json:"met"`
}

// BenchReport is the report's JSON.
type BenchReport struct {
	Machine      Machine          `json:"machine"`
	GoCommand    string           `json:"goBenchCommand,omitempty"`
	GoBenchmarks []GoBenchResult  `json:"goBenchmarks,omitempty"`
	GoBenchError string           `json:"goBenchError,omitempty"`
	Scenarios    []ScenarioResult `json:"scenarios"`
}

// Summary is a short form of the report for stdout.
func (r *BenchReport) Summary() map[string]any {
	rows := map[string]any{}
	for _, s := range r.Scenarios {
		met := true
		for _, t := range s.Targets {
			met = met && t.Met
		}
		rows[s.Name] = map[string]any{"exitCode": s.ExitCode, "targetsMet": met}
	}
	return map[string]any{"scenarios": rows, "goBenchmarks": len(r.GoBenchmarks)}
}

func (o *ReportOptions) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, "bench report: "+format+"\n", args...)
	}
}

// RunReport runs the Go benchmarks and the scenario set and writes the
// report. A scenario that fails is reported as such; the error is for a
// report that could not be written.
func RunReport(ctx context.Context, o ReportOptions) (*BenchReport, error) {
	if o.Binary == "" {
		o.Binary = executable()
	}
	if o.Rows == nil {
		o.Rows = Standard()
	}
	if o.GoTool == "" {
		o.GoTool = "go"
	}
	only := map[string]bool{}
	for _, n := range strings.Split(o.Only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			only[n] = true
		}
	}
	r := &BenchReport{Machine: machine(o.GoTool)}
	if o.GoBench {
		r.GoCommand = "go " + strings.Join(GoBenchArgs, " ")
		o.logf("running %s", r.GoCommand)
		res, err := runGoBench(ctx, o.GoTool, o.Log)
		r.GoBenchmarks = res
		if err != nil {
			r.GoBenchError = err.Error()
			o.logf("go benchmarks: %v", err)
		}
	}
	for _, row := range o.Rows {
		if len(only) > 0 && !only[row.Args[0]] {
			continue
		}
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		o.logf("running %s", commandLine(row.Args))
		r.Scenarios = append(r.Scenarios, runRow(ctx, o.Binary, row, o.Log))
	}
	if o.Out == "" {
		return r, nil
	}
	if err := writeReport(r, o.Out); err != nil {
		return r, err
	}
	o.logf("wrote %s.json and %s.md", o.Out, o.Out)
	return r, nil
}

// commandLine is how a row is run, as a user would type it.
func commandLine(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$\\*?") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return "opsync bench " + strings.Join(q, " ")
}

func runRow(ctx context.Context, bin string, row Row, log io.Writer) ScenarioResult {
	res := ScenarioResult{Name: row.Name, Command: commandLine(row.Args)}
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append([]string{"bench"}, row.Args...)...)
	cmd.Stdout = &stdout
	if log != nil {
		cmd.Stderr = log
	}
	t0 := time.Now()
	err := cmd.Run()
	res.Seconds = round1(time.Since(t0).Seconds())
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	case err != nil:
		res.ExitCode, res.Error = -1, err.Error()
	}
	out := bytes.TrimSpace(stdout.Bytes())
	var rep map[string]any
	if len(out) == 0 || json.Unmarshal(out, &rep) != nil {
		if res.Error == "" {
			res.Error = fmt.Sprintf("no JSON report on stdout (exit %d)", res.ExitCode)
		}
		return res
	}
	res.Report = json.RawMessage(out)
	for _, m := range row.Show {
		v, ok := lookup(rep, m.Path)
		res.Values = append(res.Values, Value{Metric: m, Value: v, Found: ok})
	}
	for _, t := range row.Targets {
		v, ok := lookup(rep, t.Path)
		met := ok && ((t.AtLeast && v >= t.Value) || (!t.AtLeast && v <= t.Value))
		res.Targets = append(res.Targets, TargetResult{Target: t.String(), Value: v, Met: met})
	}
	return res
}

func (t Target) String() string {
	op := "≤"
	if t.AtLeast {
		op = "≥"
	}
	return fmt.Sprintf("%s %s %s%s", t.Label, op, formatNum(t.Value), unitSuffix(t.Unit))
}

func unitSuffix(u string) string {
	switch u {
	case "":
		return ""
	case "/s":
		return "/s"
	}
	return " " + u
}

// lookup finds a number in decoded JSON by dotted path; numeric parts
// index arrays.
func lookup(v any, path string) (float64, bool) {
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return 0, false
			}
			v = x[i]
		default:
			return 0, false
		}
	}
	f, ok := v.(float64)
	return f, ok
}

// runGoBench runs the Go benchmarks, echoing their output to log.
func runGoBench(ctx context.Context, goTool string, log io.Writer) ([]GoBenchResult, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, goTool, GoBenchArgs...)
	w := io.Writer(&out)
	if log != nil {
		w = io.MultiWriter(&out, log)
	}
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	return parseGoBench(out.String()), err
}

// parseGoBench reads `go test -bench` output lines such as
// "BenchmarkX-2  100  12345 ns/op  20 B/op  3 allocs/op  9000 pushes/s".
func parseGoBench(s string) []GoBenchResult {
	var out []GoBenchResult
	pkg := ""
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		r := GoBenchResult{Package: pkg, Name: f[0], Iterations: n, Metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			r.Metrics[f[i+1]] = v
			r.Units = append(r.Units, f[i+1])
		}
		out = append(out, r)
	}
	return out
}

// machine describes this machine.
func machine(goTool string) Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), Date: time.Now().UTC().Format(time.RFC3339)}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				m.MemoryBytes = kb << 10
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if out, err := exec.Command(goTool, "env", "GOVERSION").Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
		m.GoVersion = string(bytes.TrimSpace(out))
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = string(bytes.TrimSpace(out))
	}
	return m
}

// Markers delimit the generated part of the Markdown report.
const (
	mdBegin = "<!-- bench:begin: generated by `make bench` (opsync bench report); edit outside the markers -->"
	mdEnd   = "<!-- bench:end -->"
)

func writeReport(r *BenchReport, out string) error {
	if dir := filepath.Dir(out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(out+".json", append(js, '\n'), 0o644); err != nil {
		return err
	}
	md := out + ".md"
	old, err := os.ReadFile(md)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.WriteFile(md, []byte(spliceMarkdown(string(old), renderMarkdown(r, filepath.Base(out)+".json"))), 0o644)
}

// spliceMarkdown puts the generated part between the markers of doc,
// keeping the rest; a doc without markers gets them appended.
func spliceMarkdown(doc, gen string) string {
	block := mdBegin + "\n" + gen + mdEnd + "\n"
	i, j := strings.Index(doc, mdBegin), strings.Index(doc, mdEnd)
	if i < 0 || j < i {
		if doc == "" {
			doc = "# opsync benchmarks\n\n"
		}
		return strings.TrimRight(doc, "\n") + "\n\n" + block
	}
	rest := doc[j+len(mdEnd):]
	rest = strings.TrimPrefix(rest, "\n")
	return doc[:i] + block + rest
}

func renderMarkdown(r *BenchReport, jsonName string) string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "\nMachine: %s, %d cores, %.1f GiB memory, %s; %s", m.CPU, m.Cores, float64(m.MemoryBytes)/(1<<30), m.Kernel, m.GoVersion)
	if m.Commit != "" {
		fmt.Fprintf(&b, "; commit %s", m.Commit)
	}
	fmt.Fprintf(&b, "; %s.\n\n", m.Date)
	b.WriteString("| Scenario | Result | Target (reported, not asserted) | Command |\n|---|---|---|---|\n")
	for _, s := range r.Scenarios {
		var vals []string
		for _, v := range s.Values {
			if v.Found {
				vals = append(vals, fmt.Sprintf("%s %s%s", v.Label, formatNum(v.Value), unitSuffix(v.Unit)))
			}
		}
		result := strings.Join(vals, ", ")
		switch {
		case s.Error != "":
			result = "**error**: " + s.Error
		case s.ExitCode != 0:
			result += fmt.Sprintf(" (**run failed**, exit %d: see the JSON report)", s.ExitCode)
		}
		var ts []string
		for _, t := range s.Targets {
			mark := "✗ missed"
			if t.Met {
				mark = "✓ met"
			}
			ts = append(ts, fmt.Sprintf("%s: %s", t.Target, mark))
		}
		target := strings.Join(ts, "; ")
		if target == "" {
			target = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | `%s` |\n", s.Name, result, target, s.Command)
	}
	if r.GoCommand != "" {
		fmt.Fprintf(&b, "\nGo benchmarks: `%s`", r.GoCommand)
		if r.GoBenchError != "" {
			fmt.Fprintf(&b, " (**failed**: %s)", r.GoBenchError)
		}
		b.WriteString("\n\n| Benchmark | Iterations | Results |\n|---|---|---|\n")
		for _, g := range r.GoBenchmarks {
			var parts []string
			for _, u := range g.Units {
				parts = append(parts, formatNum(g.Metrics[u])+" "+u)
			}
			name := g.Name
			if g.Package != "" {
				name = strings.TrimPrefix(g.Package, "github.com/opsync/opsync/") + " " + name
			}
			fmt.Fprintf(&b, "| %s | %d | %s |\n", name, g.Iterations, strings.Join(parts, ", "))
		}
	}
	fmt.Fprintf(&b, "\nEach scenario's whole JSON report is in %s.\n", jsonName)
	return b.String()
}

// formatNum prints a number with thousands separators and at most three
// significant decimals.
func formatNum(f float64) string {
	if f != f { // NaN
		return "NaN"
	}
	neg := f < 0
	if neg {
		f = -f
	}
	var s string
	switch {
	case f >= 1000:
		s = groupThousands(strconv.FormatFloat(f, 'f', 0, 64))
	case f >= 100:
		s = strconv.FormatFloat(f, 'f', 1, 64)
	case f >= 1:
		s = strconv.FormatFloat(f, 'f', 2, 64)
	default:
		s = strconv.FormatFloat(f, 'f', 3, 64)
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if neg {
		s = "-" + s
	}
	return s
}

func groupThousands(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
