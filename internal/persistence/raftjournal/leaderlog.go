package raftjournal

import (
	"log/slog"

	"github.com/hashicorp/raft"
)

// logLeaders logs, at info, every change of leader this node observes
// (the time a node learns the new leader is what bounds how soon its
// writes resume after a leader dies), until stop is closed.
func logLeaders(r *raft.Raft, logger *slog.Logger, stop <-chan struct{}) {
	ch := make(chan raft.Observation, 16)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	r.RegisterObserver(obs)
	go func() {
		defer r.DeregisterObserver(obs)
		for {
			select {
			case o := <-ch:
				// The leader is in the message, so that the node's log
				// throttle (which keys on the message) keeps each change.
				if id := o.Data.(raft.LeaderObservation).LeaderID; id != "" {
					logger.Info("raft leader is " + string(id))
				} else {
					logger.Info("raft leader lost")
				}
			case <-stop:
				return
			}
		}
	}()
}
