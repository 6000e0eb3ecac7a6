package e2e

import (
	"bytes"
	"encoding/base64"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/internal/keyring"
)

// Secrets at rest: an instance's API key is kept as its hash and its
// client secret sealed with the node's master key, so that neither is in
// any file of the data directory (Pebble's WAL and tables included), in
// the node's log or in `opsync journal dump`; the admin API shows the keys
// only when it makes them.

// newMasterKeyFile writes a new master key into a file (0600) and returns
// its path.
func newMasterKeyFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master-key")
	if err := os.WriteFile(path, []byte(keyring.Generate()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// filesHolding lists the files under dir whose raw bytes hold one of the
// secrets: as text, or the 32 bytes their base64url decodes to.
func filesHolding(t *testing.T, dir string, secrets ...string) []string {
	t.Helper()
	var needles [][]byte
	for _, s := range secrets {
		needles = append(needles, []byte(s))
		if raw, err := base64.RawURLEncoding.DecodeString(s); err == nil {
			needles = append(needles, raw)
		}
	}
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(b, n) {
				found = append(found, path)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestSecretsAtRest(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	const inst = "ws_ATREST"
	in := createInstance(t, srv.URL, inst).Instance
	key, secret := in.APIKey, in.ClientSecret
	putBizType(t, srv.URL, inst, "CHAT", map[string]any{})
	pushOK(t, srv.URL, inst, "CHAT", "alice", "m1")
	token := tokenFor(t, secret, auth.Claims{Subject: "alice", Instance: inst})
	if _, err := tryConnect(t, srv.URL, inst, "alice", "s", "d1", token); err != nil {
		t.Fatalf("a token signed with the client secret: %v", err)
	}
	var got instanceAnswer
	if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+inst, nil, &got); st != 200 || got.Instance.APIKey != "" || got.Instance.ClientSecret != "" {
		t.Fatalf("GET shows the keys: HTTP %d %+v", st, got.Instance)
	}

	// kill -9: nothing compacted, the WAL holds every write.
	srv.kill9()
	if f := filesHolding(t, dir, key, secret); len(f) > 0 {
		t.Fatalf("the keys are in clear in %v", f)
	}
	if strings.Contains(srv.stderr.String(), key) || strings.Contains(srv.stderr.String(), secret) {
		t.Fatal("the node logged a key")
	}

	// After a restart the key pushes and the token verifies: the node
	// opens the sealed secret with the master key it kept.
	srv = startServer(t, dir)
	pushOK(t, srv.URL, inst, "CHAT", "alice", "m2")
	if _, err := tryConnect(t, srv.URL, inst, "alice", "s", "d2", token); err != nil {
		t.Fatalf("a token signed with the client secret, after a restart: %v", err)
	}

	// Rotation shows the new keys once; the old ones stop working.
	var rotated instanceAnswer
	if st := call(t, http.MethodPost, srv.URL+"/api/v1/instances/"+inst+"/keys/rotate", nil, &rotated); st != 200 || rotated.Instance.APIKey == "" || rotated.Instance.APIKey == key {
		t.Fatalf("rotate: HTTP %d %+v", st, rotated.Instance)
	}
	rememberAPIKey(srv.URL, inst, rotated.Instance.APIKey)
	body := map[string]any{"bizType": "CHAT", "linkToken": "alice", "thirdMsgId": "m3", "payload": "x"}
	var pa pushAnswer
	if callWith(t, http.MethodPost, srv.URL+"/webapi/sync/single?instanceId="+inst, body, &pa, http.Header{"X-Opsync-Api-Key": {key}}); pa.Msg != "UNAUTHORIZED" {
		t.Fatalf("the retired key: %+v", pa)
	}
	pushOK(t, srv.URL, inst, "CHAT", "alice", "m4")
	if st := call(t, http.MethodGet, srv.URL+"/api/v1/instances/"+inst, nil, &got); st != 200 || got.Instance.APIKey != "" || got.Instance.APIKeyPrefix != rotated.Instance.APIKey[:6] {
		t.Fatalf("GET after the rotation: HTTP %d %+v", st, got.Instance)
	}

	// A graceful stop (which flushes and may compact) keeps none either,
	// nor does the journal dump.
	srv.stop()
	all := []string{key, secret, rotated.Instance.APIKey, rotated.Instance.ClientSecret}
	if f := filesHolding(t, dir, all...); len(f) > 0 {
		t.Fatalf("the keys are in clear in %v", f)
	}
	dump := journalContents(t, dir)
	for _, k := range all {
		if strings.Contains(dump, k) {
			t.Fatal("opsync journal shows a key")
		}
	}
	if !strings.Contains(dump, "apiKeyHash") || !strings.Contains(dump, "clientSecretSealed") {
		t.Fatalf("the dump does not show the stored forms of the keys:\n%s", dump)
	}
}

// A node refuses to start with a master key that is not the one its data
// was sealed with, or one that is not a key, saying why; with the right
// one given as a file, the secrets it sealed open.
func TestMasterKeyMismatchRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	const inst = "ws_MKEY"
	in := createInstance(t, srv.URL, inst).Instance
	srv.kill9()

	garbage := filepath.Join(t.TempDir(), "not-a-key")
	if err := os.WriteFile(garbage, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, file, want string
	}{
		{"another key", newMasterKeyFile(t), "is not the one this data directory's secrets are sealed with"},
		{"not a key", garbage, "32 random bytes"},
		{"no such file", filepath.Join(t.TempDir(), "missing"), "no such file"},
	} {
		_, errOut, code := run(t, "serve", "--data", dir, "--http", "127.0.0.1:0", "--master-key-file", c.file)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 mentioning %q", c.name, code, errOut, c.want)
		}
	}

	// The generated key, given as a file (env OPSYNC_MASTER_KEY_FILE), is
	// the right one.
	srv = startServerEnv(t, dir, append(os.Environ(), "OPSYNC_MASTER_KEY_FILE="+filepath.Join(dir, "master-key")))
	if _, err := tryConnect(t, srv.URL, inst, "bob", "s", "d1", tokenFor(t, in.ClientSecret, auth.Claims{Subject: "bob", Instance: inst})); err != nil {
		t.Fatalf("a token after a restart with the key given: %v", err)
	}
}
