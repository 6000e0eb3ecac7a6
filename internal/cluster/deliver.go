package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/metrics"
)

// How a request reaches an actor, in place of protoactor's
// cluster.Request: the PID protoactor cached for the identity, else the
// one the identity lookup (disthash) gets from the identity's owner, which
// activates the actor. Unlike cluster.Request, no wait outlives the member
// it waits on (see departures): when the member hosting the actor, or the
// owner asked for it, leaves the set, the wait ends and the identity is
// looked up again among the members left. A write that loses its leader
// (the raft journal) is a different matter, handled by the journal.

// retryPause is the pause before another attempt after one that certainly
// did not reach an actor: protoactor's own pause (i*i*50 ns) spins.
const retryPause = 20 * time.Millisecond

var (
	// errNotSent: the PID's member had left before the request was sent.
	errNotSent = errors.New("the actor's member left the set before the request was sent")
	// errMemberLeft: the PID's member left while the request waited for
	// its answer; the actor may or may not have handled it.
	errMemberLeft = errors.New("the actor's member left the set before answering")
	// errNoActivation: the identity's owner activated nothing.
	errNoActivation = errors.New("the identity lookup found no activation")
)

// deliver sends msg to the actor of identity until it answers, ctx ends
// or an attempt fails in a way that must not be repeated: a timeout, or,
// unless repeatable, a member that left after the message was sent to it.
func (m *Member) deliver(ctx context.Context, identity, kind string, msg proto.Message, repeatable bool) (any, error) {
	began := time.Now()
	var last error
	for {
		if err := ctx.Err(); err != nil {
			if last != nil {
				return nil, fmt.Errorf("%w (last attempt: %v)", err, last)
			}
			return nil, err
		}
		pid, err := m.locate(ctx, identity, kind)
		if err == nil {
			var res any
			if res, err = m.send(ctx, pid, msg); err == nil {
				return res, nil
			}
			m.cluster.PidCache.RemoveByValue(identity, kind, pid)
			switch {
			case errors.Is(err, errMemberLeft) && !repeatable:
				metrics.RouteMemberLeft.WithLabelValues("failed").Inc()
				m.log.Debug("route: the actor's member left while a command waited for it", slog.String("identity", identity),
					slog.String("kind", kind), slog.String("pid", pid.String()), slog.Duration("waited", time.Since(began)))
				return nil, err
			case errors.Is(err, errMemberLeft), errors.Is(err, errNotSent):
				metrics.RouteMemberLeft.WithLabelValues("rerouted").Inc()
				m.log.Debug("route: the actor's member left; asking the identity's new activation", slog.String("identity", identity),
					slog.String("kind", kind), slog.String("pid", pid.String()), slog.Duration("waited", time.Since(began)))
			case errors.Is(err, actor.ErrDeadLetter), errors.Is(err, remote.ErrDeadLetter):
				// No actor there (it stopped): nothing handled the message.
			default:
				return nil, err
			}
		}
		last = err
		t := time.NewTimer(retryPause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// locate returns the PID of identity's activation: the cached one, else
// the identity lookup's. A lookup asks the identity's owner (and waits up
// to 5 s inside protoactor): when a member leaves meanwhile, the owner
// may be that member, so it is asked again of the owner among the members
// left (an abandoned lookup ends by itself).
func (m *Member) locate(ctx context.Context, identity, kind string) (*actor.PID, error) {
	if pid, ok := m.cluster.PidCache.Get(identity, kind); ok {
		return pid, nil
	}
	for {
		_, left := m.departures.watch("")
		found := make(chan *actor.PID, 1)
		go func() { found <- m.cluster.Get(identity, kind) }()
		select {
		case pid := <-found:
			if pid == nil {
				return nil, errNoActivation
			}
			m.cluster.PidCache.Set(identity, kind, pid)
			return pid, nil
		case <-left:
			metrics.RouteMemberLeft.WithLabelValues("rerouted").Inc()
			m.log.Debug("route: a member left during an identity lookup; looking up again", slog.String("identity", identity), slog.String("kind", kind))
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// send asks pid and waits for its answer within ctx, or until pid's
// member leaves the set.
func (m *Member) send(ctx context.Context, pid *actor.PID, msg proto.Message) (any, error) {
	local := pid.Address == m.system.Address()
	present, left := m.departures.watch(pid.Address)
	if !present && !local {
		return nil, errNotSent
	}
	dl, _ := ctx.Deadline()
	f := m.system.Root.RequestFuture(pid, msg, time.Until(dl))
	type result struct {
		res any
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := f.Result()
		done <- result{res, err}
	}()
	for {
		select {
		case r := <-done:
			return r.res, r.err
		case <-left:
			if present, left = m.departures.watch(pid.Address); !present && !local {
				return nil, errMemberLeft
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
