package node

import (
	"context"
	"log/slog"
	"time"

	"github.com/opsync/opsync/internal/actors"
)

// sweepRate bounds the streams the retention sweeper wakes per second, so
// that a large node is swept without a burst of activations.
const sweepRate = 200

// sweepLoop wakes every stream of this node's journal once per interval:
// an activated stream deletes its expired entries (validity and retention)
// and passivates again when idle, so that dormant streams do not keep
// what they should have deleted.
func (n *Node) sweepLoop(interval time.Duration, logger *slog.Logger) {
	defer close(n.sweepDone)
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		n.sweepOnce(logger)
		t.Reset(interval)
	}
}

func (n *Node) sweepOnce(logger *slog.Logger) {
	if !n.sweepsHere() {
		return
	}
	var streams []string
	err := n.store.ActorIDs(func(id string) error {
		if kind, identity, ok := actors.ParseJournalID(id); ok && kind == actors.KindStream {
			streams = append(streams, identity)
		}
		return nil
	})
	if err != nil {
		logger.Warn("retention sweep: listing journals failed", slog.Any("err", err))
		return
	}
	pace := time.NewTicker(time.Second / sweepRate)
	defer pace.Stop()
	for _, identity := range streams {
		select {
		case <-n.stop:
			return
		case <-pace.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := n.member.Sweep(ctx, identity); err != nil {
			logger.Warn("retention sweep: stream unavailable", slog.String("stream", identity), slog.Any("err", err))
		}
		cancel()
	}
}

// sweepsHere reports whether this node runs the retention sweep. Under
// raft every replica lists every stream, so only the leader sweeps, and a
// set wakes each stream once per interval rather than once per node.
func (n *Node) sweepsHere() bool { return n.raft == nil || n.raft.IsLeader() }
