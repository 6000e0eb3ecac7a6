package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestCloseBounded(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	errClosed := errors.New("closed with an error")
	var out bytes.Buffer
	if err := closeBounded(func() error { return errClosed }, time.Minute, logger, &out); err != errClosed || out.Len() != 0 {
		t.Fatalf("a close that finishes: %v, wrote %q", err, out.String())
	}
	release := make(chan struct{})
	defer close(release)
	err := closeBounded(func() error { <-release; return nil }, 10*time.Millisecond, logger, &out)
	if !errors.Is(err, errCloseTimeout) || !strings.Contains(out.String(), "goroutine") {
		t.Fatalf("a close that hangs: %v, wrote %d bytes", err, out.Len())
	}
}
