package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// fleet is many client connections, one goroutine reading each.
type fleet struct {
	conns []*wsConn
	wg    sync.WaitGroup
}

// checkFiles fails early when this process may not open n more files,
// after raising its soft limit towards the hard one if that is too low.
func checkFiles(n int) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return nil
	}
	need := uint64(n) + 256
	if l.Cur < need && l.Max > l.Cur {
		raised := l
		raised.Cur = min(max(need, 2*l.Cur), l.Max)
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			l = raised
		}
	}
	if l.Cur < need {
		return fmt.Errorf("bench: %d connections need %d open files; the limit is %d (hard limit %d; ulimit -n)", n, need, l.Cur, l.Max)
	}
	return nil
}

// connectFleet opens n connections, conc at a time, connection i to the
// dialer's node i mod nodes; connect(i) is the Connect of connection i.
// It calls progress with the count so far.
func connectFleet(ctx context.Context, d *dialer, n, conc int, connect func(i int) *opsyncpb.Connect, progress func(int)) (*fleet, error) {
	conns, err := openConns(ctx, n, conc, func(ctx context.Context, i int) (*wsConn, error) {
		return d.connectAt(ctx, i, connect(i))
	}, progress)
	if err != nil {
		return nil, err
	}
	return &fleet{conns: conns}, nil
}

// openConns opens n connections with open(ctx, i), conc at a time, each
// within 30 s, calling progress every 1000. On the first error it stops
// and closes those it opened.
func openConns[C interface{ close() }](ctx context.Context, n, conc int, open func(ctx context.Context, i int) (C, error), progress func(int)) ([]C, error) {
	conns := make([]C, n)
	opened := make([]bool, n)
	var next, done atomic.Int64
	var firstErr error
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < max(conc, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, cancelDial := context.WithTimeout(ctx, 30*time.Second)
				cn, err := open(c, i)
				cancelDial()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("bench: connection %d of %d: %w", i, n, err)
					}
					mu.Unlock()
					cancel()
					return
				}
				conns[i], opened[i] = cn, true
				if k := done.Add(1); progress != nil && k%1000 == 0 {
					progress(int(k))
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		for i, c := range conns {
			if opened[i] {
				c.close()
			}
		}
		return nil, firstErr
	}
	return conns, nil
}

// each starts read(i, conn) on its own goroutine for every connection.
func (f *fleet) each(read func(i int, c *wsConn)) {
	for i, c := range f.conns {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			read(i, c)
		}()
	}
}

// keepAlive pings every connection every interval until ctx ends: the
// server closes connections silent for 75 s.
func (f *fleet) keepAlive(ctx context.Context, every time.Duration) {
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for n := uint64(1); ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for _, c := range f.conns {
					if c != nil {
						wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
						_ = c.ping(wctx, n)
						cancel()
					}
				}
			}
		}
	}()
}

// close closes every connection and waits for the readers.
func (f *fleet) close() {
	for _, c := range f.conns {
		if c != nil {
			c.close()
		}
	}
	f.wg.Wait()
}

// user and device names of fleet client i.
func fleetUser(prefix string, i int) string   { return prefix + "-u" + strconv.Itoa(i) }
func fleetDevice(prefix string, i int) string { return prefix + "-d" + strconv.Itoa(i) }
