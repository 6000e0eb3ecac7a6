package state

import (
	"fmt"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A session journals its events sealed with its environment's data key
// (Event.doc_session_sealed holding a DocSessionEvent): operations,
// snapshots, and the collaboration webhook events it hands to the
// environment's outbox, with the record that the outbox has them.
// Events journaled in clear before encryption existed still apply.

// WithOpener lets the state apply sealed events, opened by open.
func (d *DocSession) WithOpener(open func([]byte) ([]byte, error)) *DocSession {
	d.open = open
	return d
}

// Unhooked is the webhook events journaled that the outbox is not known
// to have, ascending seq (read-only).
func (d *DocSession) Unhooked() []*opsyncpb.DocHookQueued { return d.unhooked }

// Held reports whether the journal holds anything of the session: an
// operation, a snapshot, or a webhook event.
func (d *DocSession) Held() bool { return !d.Empty() || d.held }

// applySealed applies a sealed event; content: it changed the session's
// content (an operation or a snapshot, not a webhook's record).
func (d *DocSession) applySealed(seq uint64, sealed []byte) (content bool, err error) {
	if d.open == nil {
		return false, fmt.Errorf("events: document event %d is sealed and no key opens it", seq)
	}
	plain, err := d.open(sealed)
	if err != nil {
		return false, fmt.Errorf("events: document event %d does not open: %w", seq, err)
	}
	e := &opsyncpb.DocSessionEvent{}
	if err := proto.Unmarshal(plain, e); err != nil {
		return false, fmt.Errorf("events: document event %d: %w", seq, err)
	}
	switch {
	case e.Ops != nil:
		return true, d.applyOps(e.Ops)
	case e.Snapshot != nil:
		return true, d.applySnapshot(e.Snapshot)
	case e.Hook != nil:
		d.unhooked = append(d.unhooked, &opsyncpb.DocHookQueued{Seq: seq, Event: e.Hook})
		d.held = true
		switch {
		case e.UserJoined != "":
			if d.users == nil {
				d.users = map[string]bool{}
			}
			d.users[e.UserJoined] = true
		case e.UserLeft != "":
			delete(d.users, e.UserLeft)
		}
	case e.Hooked > 0:
		i := 0
		for i < len(d.unhooked) && d.unhooked[i].Seq <= e.Hooked {
			i++
		}
		d.unhooked = append([]*opsyncpb.DocHookQueued(nil), d.unhooked[i:]...)
		d.held = true
	default:
		return false, fmt.Errorf("events: document event %d is empty", seq)
	}
	return false, nil
}

// Users is the users announced connected and not yet disconnected,
// sorted: after a crash, those the session must announce gone.
func (d *DocSession) Users() []string {
	out := make([]string, 0, len(d.users))
	for u := range d.users {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// SealedState is what the session's snapshot seals.
func (d *DocSession) SealedState() *opsyncpb.DocSessionSealed {
	return &opsyncpb.DocSessionSealed{State: d.SnapshotState(), Unhooked: d.unhooked, Users: d.Users()}
}

// RestoreSealedDocSession rebuilds the state a sealed snapshot holds.
func RestoreSealedDocSession(s *opsyncpb.DocSessionSealed) *DocSession {
	d := RestoreDocSession(s.GetState())
	d.unhooked = s.Unhooked
	d.held = true
	for _, u := range s.Users {
		if d.users == nil {
			d.users = map[string]bool{}
		}
		d.users[u] = true
	}
	return d
}
