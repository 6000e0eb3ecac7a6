package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// loadOrCreateFile returns the content (white space trimmed) of the file
// at path, first writing create() into it, mode 0600, when there is none;
// created says it did. Two processes starting at once agree on one
// content: the file is created exclusively and the loser reads it.
func loadOrCreateFile(path string, create func() string) (content string, created bool, err error) {
	if content, err = readTrimmed(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return content, false, err
	}
	content = create()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it first
		content, err = readTrimmed(path)
		return content, false, err
	}
	if err != nil {
		return "", false, err
	}
	_, err = f.WriteString(content + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", false, err
	}
	return content, true, nil
}

// readTrimmed reads a file that holds one value; an empty one is an error.
func readTrimmed(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}
