package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// filler stores entries on a node as fast as it takes them: through the
// batch API when the node has it, else with single pushes.
type filler struct {
	a           *api
	instance    string
	batch       bool
	batchSize   int
	concurrency int
	// stored counts the entries stored so far, for progress lines.
	stored atomic.Int64
}

func newFiller(ctx context.Context, a *api, instance string, batchSize, concurrency int) *filler {
	f := &filler{a: a, instance: instance, batch: a.hasBatch(ctx, instance), batchSize: batchSize, concurrency: concurrency}
	if !f.batch {
		f.batchSize = 1
		f.concurrency = max(concurrency, 32) // single pushes need more callers
	}
	return f
}

func (f *filler) method() string {
	if f.batch {
		return fmt.Sprintf("batch API, %d items per request, %d in flight", f.batchSize, f.concurrency)
	}
	return fmt.Sprintf("single pushes (the node has no batch API), %d callers", f.concurrency)
}

// fill stores entries 0..n-1; item(b, i) appends entry i's push body. It
// stops at the first refusal or error.
func (f *filler) fill(ctx context.Context, n int, item func(b []byte, i int) []byte) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	per := max(f.batchSize, 1)
	chunks := (n + per - 1) / per
	var next atomic.Int64
	var once sync.Once
	var failure error
	fail := func(err error) {
		once.Do(func() { failure = err; cancel() })
	}
	var wg sync.WaitGroup
	for w := 0; w < f.concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body []byte
			for ctx.Err() == nil {
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				lo, hi := c*per, min((c+1)*per, n)
				body = body[:0]
				for i := lo; i < hi; i++ {
					if i > lo {
						body = append(body, ',')
					}
					body = item(body, i)
				}
				if f.batch {
					res, err := f.a.pushBatch(ctx, f.instance, body)
					if err != nil {
						fail(err)
						return
					}
					for _, r := range res {
						if !r.stored() {
							fail(fmt.Errorf("bench: fill: batch item answered %s %s", r.Msg, r.Detail))
							return
						}
					}
				} else {
					ans, err := f.a.push(ctx, f.instance, false, body)
					if err == nil && !ans.stored() {
						err = fmt.Errorf("bench: fill: push answered %s %s", ans.Msg, ans.Detail)
					}
					if err != nil {
						fail(err)
						return
					}
				}
				f.stored.Add(int64(hi - lo))
			}
		}()
	}
	wg.Wait()
	if failure != nil {
		return failure
	}
	return ctx.Err()
}
