package state

import (
	"fmt"
	"sort"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Registry is the state of the instance registry: the ids of the instances
// administrators created, so that they can be listed.
type Registry struct {
	lastSeq   uint64
	instances map[string]int64 // id -> registered at (ms)
}

// NewRegistry returns the state of a registry that has no events.
func NewRegistry() *Registry { return &Registry{instances: map[string]int64{}} }

// LastSeq is the sequence number of the last applied event.
func (r *Registry) LastSeq() uint64 { return r.lastSeq }

// Has reports whether id is registered.
func (r *Registry) Has(id string) bool { _, ok := r.instances[id]; return ok }

// Instances lists the registered instances ordered by id.
func (r *Registry) Instances() []*opsyncpb.RegisteredInstance {
	out := make([]*opsyncpb.RegisteredInstance, 0, len(r.instances))
	for id, at := range r.instances {
		out = append(out, &opsyncpb.RegisteredInstance{InstanceId: id, RegisteredAt: at})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InstanceId < out[j].InstanceId })
	return out
}

// Apply applies the event stored under seq.
func (r *Registry) Apply(seq uint64, ev *opsyncpb.Event) error {
	if seq <= r.lastSeq {
		return fmt.Errorf("events: registry event %d applied after %d", seq, r.lastSeq)
	}
	k, ok := ev.Kind.(*opsyncpb.Event_InstanceRegistered)
	if !ok {
		return fmt.Errorf("events: %T is not a registry event", ev.Kind)
	}
	if _, seen := r.instances[k.InstanceRegistered.InstanceId]; !seen {
		r.instances[k.InstanceRegistered.InstanceId] = ev.Time
	}
	r.lastSeq = seq
	return nil
}

// Snapshot returns the state as a message to store.
func (r *Registry) Snapshot() *opsyncpb.RegistrySnapshot {
	return &opsyncpb.RegistrySnapshot{LastSeq: r.lastSeq, Instances: r.Instances()}
}

// RestoreRegistry rebuilds the state a snapshot was taken of.
func RestoreRegistry(s *opsyncpb.RegistrySnapshot) *Registry {
	r := NewRegistry()
	r.lastSeq = s.LastSeq
	for _, in := range s.Instances {
		r.instances[in.InstanceId] = in.RegisteredAt
	}
	return r
}
