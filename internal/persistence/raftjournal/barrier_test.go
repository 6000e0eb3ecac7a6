package raftjournal

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A follower's read barrier is waiting at the leader when the leader dies:
// it is asked of the next leader and succeeds, instead of failing the
// recovery of the actor that waits for it (a barrier writes nothing, so
// its outcome never matters). The leader's journal actor is replaced by
// one that takes requests and never answers, as a leader that is going
// down does; then its raft stops at once, as in a crash.
func TestBarrierForwardedToALeaderThatDiesGoesToTheNext(t *testing.T) {
	c := newCluster(t, t.TempDir(), 3, nil)
	defer c.close()
	leader, follower := c.leader(), c.follower()

	got := make(chan struct{}, 1)
	silent := actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*opsyncpb.JournalRequest); ok {
			select {
			case got <- struct{}{}:
			default:
			}
		}
	})
	if err := leader.system.Root.StopFuture(leader.store.pid).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := leader.system.Root.SpawnNamed(silent, JournalActorName); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- follower.store.ReadBarrier(bg) }()
	<-got // the barrier waits at the leader
	if err := leader.store.raft.Shutdown().Error(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("read barrier across the leader's death: %v", err)
	}
	if _, id := follower.store.raft.LeaderWithID(); string(id) == leader.id() || id == "" {
		t.Fatalf("the barrier succeeded with leader %q, the dead one is %s", id, leader.id())
	}
}
