package node

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/opsync/opsync/internal/keyring"
)

// The master key seals the secrets a node keeps and must read back
// (instances' client secrets; see internal/keyring).
const (
	// MasterKeyFile is the file in the data directory that keeps the
	// master key a standalone node generated (mode 0600).
	MasterKeyFile = "master-key"
	// MasterKeyIDFile records which master key the data directory's
	// secrets are sealed with (its id, not the key), so that a node
	// started with another key refuses to start instead of failing on
	// every client token.
	MasterKeyIDFile = "master-key.id"
)

// loadMasterKey returns the node's master key: the file given (a node set
// must give one, the same on every node), else the one kept in the data
// directory, generated on first start. The key must be the one the data
// directory was first started with.
func loadMasterKey(cfg Config, logger *slog.Logger) (*keyring.Key, error) {
	var key *keyring.Key
	switch {
	case cfg.MasterKeyFile != "":
		text, err := readTrimmed(cfg.MasterKeyFile)
		if err != nil {
			return nil, fmt.Errorf("node: master key: %w", err)
		}
		if key, err = keyring.Parse(text); err != nil {
			return nil, fmt.Errorf("node: master key %s: %w", cfg.MasterKeyFile, err)
		}
		if info, err := os.Stat(cfg.MasterKeyFile); err == nil && info.Mode().Perm()&privateUmask != 0 {
			logger.Warn("the master key file is readable by other local users: whoever reads it can open every instance's client secret; chmod 600 it",
				"file", cfg.MasterKeyFile, "mode", fmt.Sprintf("%04o", info.Mode().Perm()))
		}
	case cfg.Raft.Addr != "":
		// A generated key would differ on every node: secrets one node
		// sealed would not open on the others.
		return nil, errors.New("node: the replicated journal (--raft) needs --master-key-file (or OPSYNC_MASTER_KEY_FILE): every node of a set must hold the same master key (make one with `openssl rand -base64 32`)")
	default:
		text, _, err := loadOrCreateFile(filepath.Join(cfg.DataDir, MasterKeyFile), keyring.Generate)
		if err != nil {
			return nil, fmt.Errorf("node: master key: %w", err)
		}
		if key, err = keyring.Parse(text); err != nil {
			return nil, fmt.Errorf("node: master key %s: %w", filepath.Join(cfg.DataDir, MasterKeyFile), err)
		}
	}
	idPath := filepath.Join(cfg.DataDir, MasterKeyIDFile)
	id, _, err := loadOrCreateFile(idPath, key.ID)
	if err != nil {
		return nil, fmt.Errorf("node: master key id: %w", err)
	}
	if id != key.ID() {
		return nil, fmt.Errorf("node: the master key given (id %s) is not the one this data directory's secrets are sealed with (id %s, in %s): start the node with that key", key.ID(), id, idPath)
	}
	return key, nil
}
