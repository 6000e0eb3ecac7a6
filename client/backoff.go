package client

import (
	"math/rand/v2"
	"time"
)

// backoff computes reconnection delays: attempt n waits a random time in
// [d/2, d] where d = min·2ⁿ, capped at max. The jitter spreads the
// reconnections of many clients after a server restart.
type backoff struct {
	min, max time.Duration
}

func (b backoff) delay(attempt int) time.Duration {
	d := b.min
	for i := 0; i < attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	half := d / 2
	return half + rand.N(d-half+1)
}
