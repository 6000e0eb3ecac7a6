package node

import (
	"context"
	"log/slog"
	"strings"
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
// delivered them (actors/outbox.go); one without passivates again. The
// documents and outbox of a deleted environment are woken once per run of
// the node too, and their sessions: activated without a key, they delete
// their journals.
func (n *Node) outboxWakeLoop(logger *slog.Logger) {
	purged := map[string]time.Time{}
	quick := 0
	for {
		left := n.member.MemberLeft() // before the round: a departure during it counts
		n.wakeDocJournals(logger, purged)
		wait := outboxWakeEvery
		if quick > 0 {
			wait, quick = outboxWakeAfterLeave, quick-1
		}
		select {
		case <-n.stop:
			return
		case <-time.After(wait):
		case <-left:
			// The outboxes the member hosted stop delivering until woken
			// elsewhere. Only the raft leader wakes them, and the member
			// may have been the leader: wake now and a few times more,
			// shortly, so that the next leader does it once elected.
			logger.Info("documents: a member left, waking the webhook outboxes")
			quick = outboxWakeRounds
		}
	}
}

// After a member left, the outboxes are woken outboxWakeRounds times
// every outboxWakeAfterLeave (a raft election takes a few seconds).
const (
	outboxWakeAfterLeave = 2 * time.Second
	outboxWakeRounds     = 6
)

// purgeFor is how long the documents of a deleted environment are woken
// after the node first saw it deleted: long enough for those that were
// active (with their key) to passivate and be woken again without it.
const purgeFor = 10 * time.Minute

func (n *Node) wakeDocJournals(logger *slog.Logger, purged map[string]time.Time) {
	if !n.sweepsHere() {
		return
	}
	outboxes := map[string]bool{}
	docs := map[string][]string{}     // by environment
	sessions := map[string][]string{} // identities, by environment
	err := n.store.ActorIDs(func(id string) error {
		kind, identity, ok := actors.ParseJournalID(id)
		switch {
		case !ok:
		case kind == actors.KindDocHooks:
			outboxes[identity] = true
		case kind == actors.KindDocData:
			if env, doc, ok := strings.Cut(identity, "/d/"); ok {
				docs[env] = append(docs[env], doc)
			}
		case kind == actors.KindDocSession:
			if env, _, ok := strings.Cut(identity, "/d/"); ok {
				sessions[env] = append(sessions[env], identity)
				if _, ok := docs[env]; !ok {
					docs[env] = nil
				}
			}
		}
		return nil
	})
	if err != nil {
		logger.Warn("documents: listing journals failed", slog.Any("err", err))
		return
	}
	ask := func(what string, f func(ctx context.Context) error) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := f(ctx); err != nil {
			logger.Warn("documents: "+what, slog.Any("err", err))
		}
	}
	for env := range outboxes {
		if n.stopping() {
			return
		}
		ask("webhook outbox not woken", func(ctx context.Context) error {
			_, err := n.member.DocHooks(ctx, env, &opsyncpb.WakeDocHooks{})
			return err
		})
	}
	for env, ids := range docs {
		if first, ok := purged[env]; (ok && time.Since(first) > purgeFor) || n.stopping() {
			continue
		}
		var destroyed bool
		ask("environment not asked", func(ctx context.Context) error {
			res, err := n.member.DocEnv(ctx, env, &opsyncpb.GetDocEnv{})
			destroyed = err == nil && res.Destroyed
			return err
		})
		if !destroyed {
			continue
		}
		for _, doc := range ids {
			ask("document of a deleted environment not woken", func(ctx context.Context) error {
				_, err := n.member.DocData(ctx, env, &opsyncpb.DocDataCommand{DocumentId: doc, Action: opsyncpb.DocAction_DOC_ACTION_GET})
				return err
			})
		}
		for _, identity := range sessions[env] {
			ask("document session of a deleted environment not woken", func(ctx context.Context) error {
				return n.member.SweepDocumentSession(ctx, identity)
			})
		}
		if _, ok := purged[env]; !ok {
			purged[env] = time.Now()
		}
	}
}

// stopping reports that the node is closing.
func (n *Node) stopping() bool {
	select {
	case <-n.stop:
		return true
	default:
		return false
	}
}
