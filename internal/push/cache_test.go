package push

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.UnixMilli(1_700_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingLoader answers from contexts (a missing id: an instance that
// does not exist) and counts its calls per instance.
type countingLoader struct {
	mu       sync.Mutex
	contexts map[string]*opsyncpb.PushContext
	calls    map[string]int
	err      error
}

func newCountingLoader() *countingLoader {
	return &countingLoader{contexts: map[string]*opsyncpb.PushContext{}, calls: map[string]int{}}
}

func (l *countingLoader) load(_ context.Context, id string) (*opsyncpb.PushContext, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[id]++
	if l.err != nil {
		return nil, l.err
	}
	if pc, ok := l.contexts[id]; ok {
		return pc, nil
	}
	return &opsyncpb.PushContext{}, nil
}

func (l *countingLoader) set(id, key string, version uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.contexts[id] = &opsyncpb.PushContext{InstanceExists: true, ApiKeyHash: auth.HashKey(key), Version: version}
}

func (l *countingLoader) count(id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[id]
}

func mustGet(t *testing.T, c *InstanceCache, id string) *Instance {
	t.Helper()
	in, err := c.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return in
}

// A hit costs no load; a miss exactly one.
func TestCacheHitAndMiss(t *testing.T) {
	l := newCountingLoader()
	l.set("a", "ka", 3)
	c := NewInstanceCache(l.load, CacheOptions{Now: newFakeClock().Now})
	for i := 0; i < 10; i++ {
		in := mustGet(t, c, "a")
		if !in.Exists() || !in.KeyMatches("ka") || in.KeyMatches("kb") || in.Version() != 3 {
			t.Fatalf("context %+v", in)
		}
	}
	if n := l.count("a"); n != 1 {
		t.Fatalf("10 lookups made %d loads, want 1", n)
	}
}

// A cached context is used for CacheTTL, then loaded again: the backstop
// when a change notice is lost. Instances that do not exist expire alike.
func TestCacheTTL(t *testing.T) {
	clock := newFakeClock()
	l := newCountingLoader()
	l.set("a", "old", 1)
	c := NewInstanceCache(l.load, CacheOptions{Now: clock.Now})
	mustGet(t, c, "a")
	mustGet(t, c, "nobody")
	l.set("a", "new", 2) // a change whose notice never came
	clock.Advance(CacheTTL - time.Millisecond)
	if in := mustGet(t, c, "a"); !in.KeyMatches("old") {
		t.Fatal("the context was reloaded before its TTL")
	}
	if in := mustGet(t, c, "nobody"); in.Exists() {
		t.Fatal("a missing instance exists")
	}
	clock.Advance(time.Millisecond)
	if in := mustGet(t, c, "a"); !in.KeyMatches("new") || in.KeyMatches("old") {
		t.Fatal("after CacheTTL the old key still matches")
	}
	l.set("nobody", "k", 1) // created elsewhere, notice lost
	if in := mustGet(t, c, "nobody"); !in.Exists() {
		t.Fatal("after CacheTTL a created instance is still missing")
	}
	if a, n := l.count("a"), l.count("nobody"); a != 2 || n != 2 {
		t.Fatalf("loads: a %d, nobody %d; want 2 each", a, n)
	}
	if CacheTTL != 2*time.Second {
		t.Fatalf("CacheTTL is %v: README and docs/push-path.md name 2 s", CacheTTL)
	}
}

// The cache holds at most Instances existing instances and Missing ids of
// missing ones, evicting the least recently used; missing ids never evict
// existing instances.
func TestCacheBound(t *testing.T) {
	l := newCountingLoader()
	for i := 0; i < 5; i++ {
		l.set(fmt.Sprint("i", i), "k", 1)
	}
	c := NewInstanceCache(l.load, CacheOptions{Now: newFakeClock().Now, Instances: 3, Missing: 2})
	mustGet(t, c, "i0")
	mustGet(t, c, "i1")
	mustGet(t, c, "i2")
	mustGet(t, c, "i0") // i1 is now the least recently used
	mustGet(t, c, "i3")
	if n := c.Len(); n != 3 {
		t.Fatalf("%d cached, bound 3", n)
	}
	mustGet(t, c, "i0")
	mustGet(t, c, "i2")
	mustGet(t, c, "i3")
	mustGet(t, c, "i1")
	if a, b := l.count("i0"), l.count("i1"); a != 1 || b != 2 {
		t.Fatalf("loads: i0 %d (want 1: recently used), i1 %d (want 2: evicted)", a, b)
	}
	for i := 0; i < 1000; i++ {
		mustGet(t, c, fmt.Sprint("random", i))
	}
	if n := c.Len(); n != 3+2 {
		t.Fatalf("%d cached after 1000 missing ids, want 3 + 2", n)
	}
	before := l.count("i1")
	mustGet(t, c, "i1")
	if l.count("i1") != before {
		t.Fatal("missing ids evicted an existing instance")
	}
}

// Invalidate drops a context whatever its version; Changed drops it only
// when it is older than the change.
func TestCacheInvalidation(t *testing.T) {
	l := newCountingLoader()
	l.set("a", "k1", 5)
	c := NewInstanceCache(l.load, CacheOptions{Now: newFakeClock().Now})
	mustGet(t, c, "a")

	c.Changed("a", 5) // a notice of what the context already holds
	c.Changed("b", 9) // another instance
	mustGet(t, c, "a")
	if n := l.count("a"); n != 1 {
		t.Fatalf("a notice not newer than the context dropped it (%d loads)", n)
	}
	l.set("a", "k2", 6)
	c.Changed("a", 6)
	if in := mustGet(t, c, "a"); !in.KeyMatches("k2") {
		t.Fatal("a newer change notice left the old context")
	}
	l.set("a", "k3", 8)
	c.Invalidate("a")
	if in := mustGet(t, c, "a"); !in.KeyMatches("k3") {
		t.Fatal("Invalidate left the old context")
	}
	if n := l.count("a"); n != 3 {
		t.Fatalf("%d loads, want 3", n)
	}

	// An instance created on this node is visible at once.
	mustGet(t, c, "new")
	l.set("new", "k", 1)
	c.Invalidate("new")
	if in := mustGet(t, c, "new"); !in.Exists() {
		t.Fatal("a created instance is still missing after Invalidate")
	}
}

// Concurrent lookups of one instance share one load; a change notice
// during the load lets the waiting lookups have its answer but keeps
// nothing; a failed load is not kept.
func TestCacheSharedLoad(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	loads := 0
	key := "k1"
	c := NewInstanceCache(func(context.Context, string) (*opsyncpb.PushContext, error) {
		mu.Lock()
		loads++
		k := key
		mu.Unlock()
		<-release
		return &opsyncpb.PushContext{InstanceExists: true, ApiKeyHash: auth.HashKey(k), Version: 1}, nil
	}, CacheOptions{Now: newFakeClock().Now})
	joined := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		if l := c.inflight["a"]; l != nil {
			return l.waiters
		}
		return 0
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Get(context.Background(), "a"); err != nil {
				t.Error(err)
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for joined() < 19 { // the other 19 wait for the one load
		if time.Now().After(deadline) {
			t.Fatalf("%d lookups joined the load under way, want 19", joined())
		}
		time.Sleep(time.Millisecond)
	}
	c.Changed("a", 2)
	mu.Lock()
	key = "k2"
	mu.Unlock()
	close(release)
	wg.Wait()
	if in := mustGet(t, c, "a"); !in.KeyMatches("k2") {
		t.Fatal("the load under way during a change notice was kept")
	}
	mu.Lock()
	defer mu.Unlock()
	if loads != 2 {
		t.Fatalf("%d loads, want 2: one shared by 20 concurrent lookups, one after the notice", loads)
	}

	fail := newCountingLoader()
	fail.err = errors.New("unavailable")
	fc := NewInstanceCache(fail.load, CacheOptions{Now: newFakeClock().Now})
	for i := 0; i < 2; i++ {
		if _, err := fc.Get(context.Background(), "a"); err == nil {
			t.Fatal("a failed load answered no error")
		}
	}
	if n := fail.count("a"); n != 2 {
		t.Fatalf("a failed load was kept: %d loads for 2 lookups", n)
	}
}
