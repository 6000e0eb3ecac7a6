package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// The set soak's events: a kill of the leader or of a follower, the
// leader's partition, a full disk. Each returns once the set is whole
// again (every node lists all, one leader agreed), so that the next one
// starts from a healthy set.

// wholeWithin bounds the wait for the set to be whole again after an
// event.
const wholeWithin = 2 * time.Minute

func (x *chaosSet) log(format string, args ...any) {
	x.env.logf("chaos: %s", x.rep.event(x.began, format, args...))
}

// pause waits d (a step of the schedule: how long a node stays down, an
// episode lasts), or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// kill kills the leader (or a random follower) with SIGKILL, starts it
// again after Down and waits until the set is whole.
func (x *chaosSet) kill(ctx context.Context, rng *rand.Rand, leader bool) error {
	lead, err := x.t.waitSet(ctx, wholeWithin)
	if err != nil {
		return err
	}
	victim, role := lead, "leader"
	if leader {
		x.rep.LeaderKills++
	} else {
		victim, role = (lead+1+rng.IntN(x.c.Set.Nodes-1))%x.c.Set.Nodes, "follower"
		x.rep.FollowerKills++
	}
	x.t.set[victim].Kill()
	x.log("killed node %d (%s)", victim, role)
	if err := pause(ctx, x.c.Set.Down); err != nil {
		return err
	}
	t0 := time.Now()
	if err := x.t.restartNode(ctx, victim); err != nil {
		return err
	}
	x.nodes.set(victim, x.t.set[victim].URL)
	if _, err := x.t.waitSet(ctx, wholeWithin); err != nil {
		return err
	}
	x.log("node %d restarted, the set whole again after %s", victim, time.Since(t0).Round(time.Millisecond))
	return nil
}

// partition cuts the leader off from the other nodes for PartitionHold,
// heals it and waits until the set is whole.
func (x *chaosSet) partition(ctx context.Context) error {
	p := &x.rep.Partition
	err := func() error {
		lead, err := x.t.waitSet(ctx, wholeWithin)
		if err != nil {
			return err
		}
		p.Node = lead
		if err := x.net.isolate(lead); err != nil {
			return err
		}
		x.log("partitioned node %d (leader) from the others", lead)
		t0 := time.Now()
		held := pause(ctx, x.c.Set.PartitionHold)
		if err := x.net.heal(lead); err != nil {
			return err
		}
		if held != nil {
			return held
		}
		p.HeldMs = ms(time.Since(t0))
		x.log("healed the partition of node %d", lead)
		t1 := time.Now()
		if _, err := x.t.waitSet(ctx, wholeWithin); err != nil {
			return err
		}
		p.Done = true
		x.log("the set whole again %s after the heal", time.Since(t1).Round(time.Millisecond))
		return nil
	}()
	if err != nil {
		p.Error = err.Error()
	}
	return err
}

// diskFull fills the disk node's volume below its reserve, keeps it there
// for DiskHold under load (pushes through it are refused), frees it and
// checks that the node is ready and acknowledges a push again.
func (x *chaosSet) diskFull(ctx context.Context) error {
	d := &x.rep.DiskFull
	sc := x.c.Set
	err := func() error {
		a := newAPI(x.nodes.url(d.Node), x.env.creds(), 1)
		defer a.close()
		x.diskOn.Store(true)
		defer func() { x.diskOn.Store(false); d.Refusals = x.diskNo.Load() }()
		// Half the reserve left: below it, and well above its floor (a
		// quarter), below which acks would not be stored either.
		if err := x.vol.fill(int64(sc.DiskReserveMiB) << 20 / 2); err != nil {
			return err
		}
		if err := awaitReadyz(ctx, a, "DISK_LOW"); err != nil {
			return err
		}
		x.log("node %d's disk below its reserve (/readyz DISK_LOW)", d.Node)
		t0 := time.Now()
		// The writers' streams may all live on other nodes (the cluster
		// places them), where pushes through this node are rightly
		// stored: probes to many streams (outside the read-back) reach
		// some whose actor is here, which must refuse them.
		x.diskNo.Add(x.diskProbes(ctx, a, 24))
		held := pause(ctx, sc.DiskHold-time.Since(t0))
		if err := x.vol.drain(); err != nil {
			return err
		}
		if held != nil {
			return held
		}
		d.HeldMs = ms(time.Since(t0))
		t1 := time.Now()
		if err := awaitReadyz(ctx, a, ""); err != nil {
			return err
		}
		// The node takes writes again: a push through it (to a stream
		// of its own, outside the read-back) is acknowledged.
		for {
			c, cancel := context.WithTimeout(ctx, sc.PushTimeout)
			ans, err := a.push(c, x.env.Instance, false, appendItem(nil, "CHAOS", "chaos-disk-probe", runID(), "probe"))
			cancel()
			if err == nil && ans.stored() {
				break
			}
			if time.Since(t1) > wholeWithin {
				return fmt.Errorf("bench: node %d acknowledged no push within %s after its disk was freed (last: %v %+v)", d.Node, wholeWithin, err, ans)
			}
			if err := pause(ctx, 100*time.Millisecond); err != nil {
				return err
			}
		}
		d.Done, d.Recovered, d.RecoverMs = true, true, ms(time.Since(t1))
		x.log("node %d's disk freed; ready and acknowledging again after %s", d.Node, time.Since(t1).Round(time.Millisecond))
		return nil
	}()
	if err != nil {
		d.Error = err.Error()
	}
	return err
}

// awaitReadyz polls the node's /readyz until it answers 503 with reason
// (reason "": until it answers 200), for up to wholeWithin. The node
// reads its free space every second; there is no event to await.
func awaitReadyz(ctx context.Context, a *api, reason string) error {
	ctx, cancel := context.WithTimeout(ctx, wholeWithin)
	defer cancel()
	last := ""
	for {
		var ans struct {
			Reason string `json:"reason"`
		}
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := a.do(c, http.MethodGet, "/readyz", nil, &ans)
		cancel()
		if err == nil && ((reason == "" && st == http.StatusOK) || (reason != "" && st == http.StatusServiceUnavailable && ans.Reason == reason)) {
			return nil
		}
		last = fmt.Sprintf("HTTP %d %q %v", st, ans.Reason, err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: /readyz of %s did not answer %q within %s (last: %s)", a.base, reason, wholeWithin, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// diskProbes pushes one entry to each of n streams through a (the node
// whose disk is low) and counts the refusals for low disk space.
func (x *chaosSet) diskProbes(ctx context.Context, a *api, n int) int64 {
	var refused int64
	for i := 0; i < n && ctx.Err() == nil; i++ {
		c, cancel := context.WithTimeout(ctx, x.c.Set.PushTimeout)
		ans, err := a.push(c, x.env.Instance, false, appendItem(nil, "CHAOS", fmt.Sprintf("chaos-disk-probe-%d", i), runID(), "probe"))
		cancel()
		if err == nil && !ans.stored() && strings.Contains(ans.Detail, "disk space low") {
			refused++
		}
	}
	return refused
}
