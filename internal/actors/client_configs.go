package actors

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A client actor delivers a registered bizType only while the instance
// lets it: not while its config is offline (the source's emergency stop),
// nor deleted within its grace period, nor (with the user-consistency
// check) to a session found invalid. It reads the instance's configs at
// connect, and again whenever the instance's change notice reaches its
// node (RefreshClientConfigs): a bizType that stops is detached from the
// streams, which then neither send its backlog nor redeliver it, and the
// client's cursor goes back to its sync point; one that resumes is
// attached again from there, so nothing is skipped and the sync point
// does not move meanwhile.

// configsChanged is the local message that hands a client actor its
// instance's configs, read anew after a change notice.
type configsChanged struct{ list *opsyncpb.BizTypeList }

// RefreshClientConfigs reads instanceID's configs once, off the caller's
// goroutine, and hands them to every client actor of that instance on
// this node; nothing when there is none. The node calls it for every
// change notice of the instance.
func RefreshClientConfigs(system *actor.ActorSystem, grains Grains, instanceID string) {
	var pids []*actor.PID
	clientsOf(system).Range(func(_, v any) bool {
		if c := v.(*clientActor); c.p.InstanceID == instanceID {
			pids = append(pids, c.self)
		}
		return true
	})
	if len(pids) == 0 {
		return
	}
	go func() {
		res, err := grains.Request(instanceID, KindInstance, &opsyncpb.ListBizTypes{}, cluster.WithTimeout(configTimeout))
		list, ok := res.(*opsyncpb.BizTypeList)
		if err != nil || !ok {
			(&Deps{}).withDefaults().Logger.Warn("clients: configs unavailable after a change", slog.String("instance", instanceID), slog.Any("err", err))
			return
		}
		for _, pid := range pids {
			system.Root.Send(pid, &configsChanged{list: list})
		}
	}()
}

// setConfigs takes the instance's configs, unless they are older than
// those the actor has.
func (a *clientActor) setConfigs(list *opsyncpb.BizTypeList) bool {
	if list.Version < a.configVersion {
		return false
	}
	a.configVersion = list.Version
	a.configs = map[string]*opsyncpb.BizTypeConfig{}
	for _, c := range list.Configs {
		a.configs[c.BizType] = c
	}
	a.deleted = map[string]bool{}
	for _, biz := range list.Deleted {
		a.deleted[biz] = true
	}
	a.purgedBefore = list.PurgedBefore
	return true
}

// receives reports whether the client may be sent biz's entries now.
// A bizType without a config (one deleted for good, or never configured)
// has no entries to withhold.
func (a *clientActor) receives(biz string) bool {
	if a.deleted[biz] {
		return false
	}
	cfg := a.configs[biz]
	if cfg == nil {
		return true
	}
	return cfg.Online && !(cfg.ConsistencyCheck && a.p.ConsistencyChecked && !a.p.SessionValid)
}

// onConfigs applies configs read anew: registered bizTypes that may no
// longer be delivered stop, those that may again resume.
func (a *clientActor) onConfigs(ctx actor.Context, list *opsyncpb.BizTypeList) {
	was := make(map[string]bool, len(a.cursor))
	for biz := range a.cursor {
		was[biz] = a.receives(biz)
	}
	if !a.setConfigs(list) {
		return
	}
	resume := map[string]uint64{}
	for biz := range a.cursor {
		switch now := a.receives(biz); {
		case was[biz] && !now:
			a.withhold(ctx, biz)
			a.cursor[biz] = max(a.from[biz], a.inflight.Point(biz))
		case !was[biz] && now:
			resume[biz] = a.cursor[biz]
		}
	}
	a.attach(ctx, resume)
	a.pump()
}

// withhold stops delivering biz on this connection: what was queued is
// dropped, what was delivered and not acknowledged will go again, and the
// streams detach the bizType (no more backlog, new entries or retries).
func (a *clientActor) withhold(ctx actor.Context, biz string) {
	a.inflight.Forget(biz)
	kept := a.queue[:0]
	for _, e := range a.queue {
		if e.BizType != biz {
			kept = append(kept, e)
		} else {
			a.queued -= int64(state.EntrySize(e))
		}
	}
	clear(a.queue[len(kept):])
	a.queue = kept
	for _, l := range a.links {
		if l.pid != nil && !l.backlogOnly {
			ctx.Send(l.pid, &opsyncpb.Unsubscribe{ClientAddress: ctx.Self().Address, ClientId: ctx.Self().Id, BizTypes: []string{biz}})
		}
	}
}

// purgesFor are the final deletions' cutoffs of the bizTypes in after,
// for a subscription to carry.
func (a *clientActor) purgesFor(after map[string]uint64) map[string]int64 {
	var out map[string]int64
	for biz := range after {
		if cut := a.purgedBefore[biz]; cut > 0 {
			if out == nil {
				out = map[string]int64{}
			}
			out[biz] = cut
		}
	}
	return out
}
