package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/opsync/opsync/internal/auth"
)

// AdminTokenFile is the file in the data directory that keeps the admin
// token a node generated (mode 0600).
const AdminTokenFile = "admin-token"

// LoadOrCreateAdminToken returns the admin token kept in dataDir, creating
// a random one on first use, and the file's path.
func LoadOrCreateAdminToken(dataDir string) (token, path string, err error) {
	path = filepath.Join(dataDir, AdminTokenFile)
	if token, err = ReadAdminToken(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return token, path, err
	}
	token = auth.NewKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it first
		token, err = ReadAdminToken(path)
		return token, path, err
	}
	if err != nil {
		return "", path, fmt.Errorf("node: admin token: %w", err)
	}
	_, err = f.WriteString(token + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", path, fmt.Errorf("node: admin token: %w", err)
	}
	return token, path, nil
}

// ReadAdminToken reads an admin token file.
func ReadAdminToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("node: admin token file %s is empty", path)
	}
	return token, nil
}
