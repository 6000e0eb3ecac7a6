package events

import (
	"fmt"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Instance is the state of one instance (tenant): whether it exists and its
// bizType configs.
type Instance struct {
	lastSeq uint64
	created bool
	configs map[string]*opsyncpb.BizTypeConfig
}

// NewInstance returns the state of an instance that has no events.
func NewInstance() *Instance {
	return &Instance{configs: map[string]*opsyncpb.BizTypeConfig{}}
}

// LastSeq is the sequence number of the last applied event.
func (in *Instance) LastSeq() uint64 { return in.lastSeq }

// Exists reports whether the instance was created.
func (in *Instance) Exists() bool { return in.created }

// Config returns a copy of the bizType's config.
func (in *Instance) Config(bizType string) (*opsyncpb.BizTypeConfig, bool) {
	c, ok := in.configs[bizType]
	if !ok {
		return nil, false
	}
	return proto.Clone(c).(*opsyncpb.BizTypeConfig), true
}

// Configs returns copies of all configs, ordered by bizType.
func (in *Instance) Configs() []*opsyncpb.BizTypeConfig {
	out := make([]*opsyncpb.BizTypeConfig, 0, len(in.configs))
	for _, c := range in.configs {
		out = append(out, proto.Clone(c).(*opsyncpb.BizTypeConfig))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].BizType < out[j].BizType })
	return out
}

// Apply applies the event stored under seq.
func (in *Instance) Apply(seq uint64, ev *opsyncpb.Event) error {
	if seq <= in.lastSeq {
		return fmt.Errorf("events: instance event %d applied after %d", seq, in.lastSeq)
	}
	switch k := ev.Kind.(type) {
	case *opsyncpb.Event_InstanceCreated:
		in.created = true
	case *opsyncpb.Event_BizTypePut:
		c := proto.Clone(k.BizTypePut.Config).(*opsyncpb.BizTypeConfig)
		in.configs[c.BizType] = c
	case *opsyncpb.Event_BizTypeDeleted:
		delete(in.configs, k.BizTypeDeleted.BizType)
	case *opsyncpb.Event_BizTypeOnlineChanged:
		if c, ok := in.configs[k.BizTypeOnlineChanged.BizType]; ok {
			c.Online = k.BizTypeOnlineChanged.Online
			c.UpdatedAt = ev.Time
		}
	default:
		return fmt.Errorf("events: %T is not an instance event", ev.Kind)
	}
	in.lastSeq = seq
	return nil
}

// Snapshot returns the state as a message to store.
func (in *Instance) Snapshot() *opsyncpb.InstanceSnapshot {
	return &opsyncpb.InstanceSnapshot{LastSeq: in.lastSeq, Created: in.created, Configs: in.Configs()}
}

// RestoreInstance rebuilds the state a snapshot was taken of.
func RestoreInstance(snap *opsyncpb.InstanceSnapshot) *Instance {
	in := NewInstance()
	in.lastSeq = snap.LastSeq
	in.created = snap.Created
	for _, c := range snap.Configs {
		in.configs[c.BizType] = proto.Clone(c).(*opsyncpb.BizTypeConfig)
	}
	return in
}
