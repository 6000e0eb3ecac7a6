package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// waiter is whoever waits for the result of one pushed entry: a single
// pusher, or one slot of a batch that is answered once every slot is.
type waiter struct {
	pid   *actor.PID
	batch *batchWait
	slot  int
}

// batchWait collects the results of a PushBatch.
type batchWait struct {
	pid     *actor.PID
	results []*opsyncpb.PushResult
	left    int
}

func newBatchWait(pid *actor.PID, n int) *batchWait {
	return &batchWait{pid: pid, results: make([]*opsyncpb.PushResult, n), left: n}
}

// done delivers the entry's result.
func (w waiter) done(ctx actor.Context, res *opsyncpb.PushResult) {
	if w.batch == nil {
		sendTo(ctx, w.pid, res)
		return
	}
	w.batch.set(ctx, w.slot, res)
}

func (b *batchWait) set(ctx actor.Context, slot int, res *opsyncpb.PushResult) {
	if b.results[slot] != nil {
		return
	}
	b.results[slot] = res
	b.left--
	if b.left == 0 {
		sendTo(ctx, b.pid, &opsyncpb.PushBatchResult{Results: b.results})
	}
}
