package node

import (
	"fmt"
	"path/filepath"

	"github.com/opsync/opsync/internal/auth"
)

// AdminTokenFile is the file in the data directory that keeps the admin
// token a node generated (mode 0600).
const AdminTokenFile = "admin-token"

// LoadOrCreateAdminToken returns the admin token kept in dataDir, creating
// a random one on first use, and the file's path.
func LoadOrCreateAdminToken(dataDir string) (token, path string, err error) {
	path = filepath.Join(dataDir, AdminTokenFile)
	token, _, err = loadOrCreateFile(path, auth.NewKey)
	if err != nil {
		return "", path, fmt.Errorf("node: admin token: %w", err)
	}
	return token, path, nil
}

// ReadAdminToken reads an admin token file.
func ReadAdminToken(path string) (string, error) {
	token, err := readTrimmed(path)
	if err != nil {
		return "", fmt.Errorf("node: admin token: %w", err)
	}
	return token, nil
}
