package node

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsync/opsync/internal/keyring"
)

func TestLoadMasterKey(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	keyFile := func(t *testing.T, text string) string {
		path := filepath.Join(t.TempDir(), "key")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cases := []struct {
		name string
		// cfg configures a node on the new data directory dir, maybe
		// after starting it once.
		cfg  func(t *testing.T, dir string) Config
		want string // an error that holds it; "": a key, the same at the next start
	}{
		{name: "standalone, generated once", cfg: func(t *testing.T, dir string) Config { return Config{DataDir: dir} }},
		{name: "a file", cfg: func(t *testing.T, dir string) Config {
			return Config{DataDir: dir, MasterKeyFile: keyFile(t, keyring.Generate())}
		}},
		{name: "raft without a file", cfg: func(t *testing.T, dir string) Config {
			return Config{DataDir: dir, Raft: RaftConfig{Addr: "127.0.0.1:1"}}
		}, want: "needs --master-key-file"},
		{name: "not a key", cfg: func(t *testing.T, dir string) Config {
			return Config{DataDir: dir, MasterKeyFile: keyFile(t, "hunter2")}
		}, want: "32 random bytes"},
		{name: "another key than the data's", cfg: func(t *testing.T, dir string) Config {
			if _, err := loadMasterKey(Config{DataDir: dir}, quiet); err != nil { // generates one
				t.Fatal(err)
			}
			return Config{DataDir: dir, MasterKeyFile: keyFile(t, keyring.Generate())}
		}, want: "is not the one this data directory's secrets are sealed with"},
		{name: "the data's own key given as a file", cfg: func(t *testing.T, dir string) Config {
			if _, err := loadMasterKey(Config{DataDir: dir}, quiet); err != nil {
				t.Fatal(err)
			}
			return Config{DataDir: dir, MasterKeyFile: filepath.Join(dir, MasterKeyFile)}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := c.cfg(t, dir)
			key, err := loadMasterKey(cfg, quiet)
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("err %v, want one saying %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			again, err := loadMasterKey(cfg, quiet)
			if err != nil || again.ID() != key.ID() {
				t.Fatalf("a second start: key %v, err %v", again, err)
			}
			if cfg.MasterKeyFile == "" {
				if info, err := os.Stat(filepath.Join(dir, MasterKeyFile)); err != nil || info.Mode().Perm() != 0o600 {
					t.Fatalf("generated key file: %v %v", info, err)
				}
			}
		})
	}
}
