package node

import (
	"context"
	"log/slog"
	"time"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// outboxWakeEvery is how often the node wakes the webhook outboxes of its
// journal: at start, and then again, so that an outbox whose node left
// or crashed goes on delivering elsewhere.
const outboxWakeEvery = 30 * time.Second

// outboxWakeLoop wakes every webhook outbox stored in this node's
// journal: an outbox with undelivered events stays active until it
// delivered them (actors/outbox.go); one without passivates again.
func (n *Node) outboxWakeLoop(logger *slog.Logger) {
	for {
		n.wakeOutboxes(logger)
		select {
		case <-n.stop:
			return
		case <-time.After(outboxWakeEvery):
		}
	}
}

func (n *Node) wakeOutboxes(logger *slog.Logger) {
	if !n.sweepsHere() {
		return
	}
	var envs []string
	err := n.store.ActorIDs(func(id string) error {
		if kind, identity, ok := actors.ParseJournalID(id); ok && kind == actors.KindDocHooks {
			envs = append(envs, identity)
		}
		return nil
	})
	if err != nil {
		logger.Warn("webhook outboxes: listing journals failed", slog.Any("err", err))
		return
	}
	for _, env := range envs {
		select {
		case <-n.stop:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		if _, err := n.member.DocHooks(ctx, env, &opsyncpb.WakeDocHooks{}); err != nil {
			logger.Warn("webhook outbox not woken", slog.String("environment", env), slog.Any("err", err))
		}
		cancel()
	}
}
