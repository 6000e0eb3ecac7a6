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
// and those of bizTypes whose deletion became final (past its grace
// period), and passivates again when idle, so that dormant streams do not
// keep what they should have deleted.
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
	var streams, docs []string
	err := n.store.ActorIDs(func(id string) error {
		kind, identity, ok := actors.ParseJournalID(id)
		switch {
		case ok && kind == actors.KindStream:
			streams = append(streams, identity)
		case ok && kind == actors.KindDocSession:
			docs = append(docs, identity)
		}
		return nil
	})
	if err != nil {
		logger.Warn("retention sweep: listing journals failed", slog.Any("err", err))
		return
	}
	pace := time.NewTicker(time.Second / sweepRate)
	defer pace.Stop()
	defer n.sweepDocuments(docs, pace, logger)
	// The journal lists an instance's streams together: its final
	// deletions are asked once for them all.
	var instance string
	var purged map[string]int64
	for _, identity := range streams {
		select {
		case <-n.stop:
			return
		case <-pace.C:
		}
		if inst := actors.StreamInstance(identity); inst != instance || purged == nil {
			instance, purged = inst, n.finalDeletions(inst, logger)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := n.member.Sweep(ctx, identity, purged); err != nil {
			logger.Warn("retention sweep: stream unavailable", slog.String("stream", identity), slog.Any("err", err))
		}
		cancel()
	}
}

// finalDeletions asks an instance for its bizTypes whose deletion became
// final, with the push time before which their entries go; empty (the
// streams then only expire) when it does not answer.
func (n *Node) finalDeletions(instance string, logger *slog.Logger) map[string]int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := n.member.BizTypes(ctx, instance)
	if err != nil {
		logger.Warn("retention sweep: instance unavailable, its deleted bizTypes wait for the next sweep", slog.String("instance", instance), slog.Any("err", err))
		return map[string]int64{}
	}
	if list.PurgedBefore == nil {
		return map[string]int64{}
	}
	return list.PurgedBefore
}

// sweepsHere reports whether this node runs the retention sweep. Under
// raft every replica lists every stream, so only the leader sweeps, and a
// set wakes each stream once per interval rather than once per node.
func (n *Node) sweepsHere() bool { return n.raft == nil || n.raft.IsLeader() }

// sweepDocuments wakes every document session of the journal, so that one
// whose editors left longer than its time to live ago (before a restart,
// or before it passivated) removes its operations and snapshots.
func (n *Node) sweepDocuments(docs []string, pace *time.Ticker, logger *slog.Logger) {
	for _, identity := range docs {
		select {
		case <-n.stop:
			return
		case <-pace.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := n.member.SweepDocumentSession(ctx, identity); err != nil {
			logger.Warn("document session sweep: session unavailable", slog.String("document", identity), slog.Any("err", err))
		}
		cancel()
	}
}
