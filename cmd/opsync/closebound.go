package main

import (
	"errors"
	"io"
	"log/slog"
	"runtime/pprof"
	"time"
)

// closeTimeout bounds a node's close at a stop or a restart to rejoin.
// Everything acknowledged is on disk (and, in a set, on a majority)
// before it was acknowledged, so a close that does not finish loses
// nothing by being cut short: the process ends (or restarts) as kill -9
// would end it. Waiting forever would leave a node that neither serves
// nor goes away.
const closeTimeout = 20 * time.Second

var errCloseTimeout = errors.New("close did not finish in time")

// closeBounded runs closeFn for at most bound. On timeout it writes
// every goroutine's stack to stderr (what held the close up is the thing
// to fix) and returns errCloseTimeout; closeFn goes on in the background
// until the process ends.
func closeBounded(closeFn func() error, bound time.Duration, logger *slog.Logger, stderr io.Writer) error {
	done := make(chan error, 1)
	go func() { done <- closeFn() }()
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		logger.Error("the node did not close within the bound; ending without it (nothing acknowledged depends on it); goroutines follow", "bound", bound)
		_ = pprof.Lookup("goroutine").WriteTo(stderr, 1)
		return errCloseTimeout
	}
}
