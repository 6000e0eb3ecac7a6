package client

import (
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: 10 * time.Second}
	ceiling := b.min
	for attempt := 0; attempt < 200; attempt++ {
		for range 50 {
			d := b.delay(attempt)
			if d < ceiling/2 || d > ceiling {
				t.Fatalf("attempt %d: delay %v outside [%v, %v]", attempt, d, ceiling/2, ceiling)
			}
		}
		ceiling = min(2*ceiling, b.max)
	}
	if ceiling != b.max {
		t.Fatalf("the delay never reached its cap %v", b.max)
	}
}

func TestBackoffIsJittered(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: 10 * time.Second}
	seen := map[time.Duration]bool{}
	for range 100 {
		seen[b.delay(3)] = true
	}
	if len(seen) < 10 {
		t.Fatalf("100 delays took only %d values: no jitter", len(seen))
	}
}
