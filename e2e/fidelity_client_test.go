package e2e

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// No command prints a secret it did not create: with every credential the
// CLI reads from the environment set, neither a command's --help nor the
// usage printed after a flag error shows it (the flag package prints a
// flag's default, and the environment's value used to be the default).
// Usage is printed once: to stdout for --help, to stderr after an error.
func TestCLINeverPrintsSecrets(t *testing.T) {
	secrets := map[string]string{
		"OPSYNC_ADMIN_TOKEN":  "fake-admin-token-5f3e",
		"OPSYNC_API_KEY":      "fake-api-key-9c1d",
		"OPSYNC_CLIENT_TOKEN": "fake-client-token-7a2b",
	}
	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); secrets[name] == "" {
			env = append(env, kv)
		}
	}
	for name, v := range secrets {
		env = append(env, name+"="+v)
	}

	// Every command the top-level usage lists, and every verb or scenario
	// each command's usage lists.
	top, _, _ := runEnv(t, env, "--help")
	var invocations [][]string
	leaf := map[string]bool{} // takes flags (a command with verbs takes a verb first)
	for _, cmd := range listed(top, "commands:") {
		invocations = append(invocations, []string{cmd})
		help, _, _ := runEnv(t, env, cmd, "--help")
		verbs := listed(help, "scenarios:")
		if m := regexp.MustCompile(`<([a-z-]+(?:\|[a-z-]+)+)>`).FindStringSubmatch(help); m != nil {
			verbs = append(verbs, strings.Split(m[1], "|")...)
		}
		if cmd == "journal" {
			verbs = append(verbs, "list", "dump")
		}
		for _, v := range verbs {
			invocations = append(invocations, []string{cmd, v})
			leaf[cmd+" "+v] = true
		}
		leaf[cmd] = len(verbs) == 0 || cmd == "journal"
	}
	if len(invocations) < 30 {
		t.Fatalf("found only %d commands and verbs: %v", len(invocations), invocations)
	}
	for _, inv := range invocations {
		stdout, stderr, code := runEnv(t, env, append(inv, "--help")...)
		if code != 0 || strings.Count(stdout, "usage:") != 1 || strings.Contains(stderr, "usage:") {
			t.Errorf("opsync %s --help: exit %d, usage %d times on stdout and %d on stderr",
				strings.Join(inv, " "), code, strings.Count(stdout, "usage:"), strings.Count(stderr, "usage:"))
		}
		checkNoSecret(t, inv, "--help", stdout+stderr, secrets)
		if !leaf[strings.Join(inv, " ")] {
			continue
		}
		stdout, stderr, code = runEnv(t, env, append(inv, "--no-such-flag")...)
		if code != 2 || strings.Count(stderr, "usage:") != 1 || stdout != "" {
			t.Errorf("opsync %s --no-such-flag: exit %d, usage %d times on stderr, stdout %q",
				strings.Join(inv, " "), code, strings.Count(stderr, "usage:"), stdout)
		}
		checkNoSecret(t, inv, "a flag error", stdout+stderr, secrets)
	}
}

func checkNoSecret(t *testing.T, inv []string, what, out string, secrets map[string]string) {
	t.Helper()
	for name, v := range secrets {
		if strings.Contains(out, v) {
			t.Errorf("opsync %s, %s: printed the value of %s", strings.Join(inv, " "), what, name)
		}
	}
}

// listed returns the first word of each indented line of usage after the
// line header, up to the next blank line.
func listed(usage, header string) []string {
	_, after, ok := strings.Cut(usage, "\n"+header+"\n")
	if !ok {
		return nil
	}
	var out []string
	for _, line := range strings.Split(after, "\n") {
		if strings.TrimSpace(line) == "" {
			break
		}
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(line, "  ") {
			out = append(out, f[0])
		}
	}
	return out
}
