package state

import (
	"fmt"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Instance is the state of one instance (tenant): whether it exists, its
// credentials and settings, its bizType configs and the recent rows of its
// operation log.
type Instance struct {
	lastSeq   uint64
	created   bool
	createdAt int64
	configs   map[string]*opsyncpb.BizTypeConfig
	retired   map[string]*opsyncpb.RetiredBizType // deleted bizTypes (instance_retired.go)
	keys      *opsyncpb.InstanceKeysSet           // as stored: the API key's hash, the sealed client secret
	keysSetAt int64
	// legacySecret is the client secret of a journal written before
	// secrets were sealed, until the actor seals it (SealLegacySecret):
	// the state has no master key.
	legacySecret string
	// clearKeysRead: an event or snapshot applied held a key in clear.
	clearKeysRead bool
	settings      *opsyncpb.InstanceSettings
	ops           operationLog
	// cardCallbacks by route key (card_callbacks.go).
	cardCallbacks map[string]*opsyncpb.CardCallback
}

// NewInstance returns the state of an instance that has no events.
func NewInstance() *Instance {
	return &Instance{configs: map[string]*opsyncpb.BizTypeConfig{}, retired: map[string]*opsyncpb.RetiredBizType{}, keys: &opsyncpb.InstanceKeysSet{}, settings: &opsyncpb.InstanceSettings{}}
}

// CreatedAt is when the instance was created (ms).
func (in *Instance) CreatedAt() int64 { return in.createdAt }

// Keys returns a copy of the instance's credentials as they are stored
// (the API key's hash, the sealed client secret; empty before any
// InstanceKeysSet) and when they were set.
func (in *Instance) Keys() (*opsyncpb.InstanceKeysSet, int64) {
	return proto.Clone(in.keys).(*opsyncpb.InstanceKeysSet), in.keysSetAt
}

// Settings returns a copy of the instance's settings.
func (in *Instance) Settings() *opsyncpb.InstanceSettings {
	return proto.Clone(in.settings).(*opsyncpb.InstanceSettings)
}

// NeedsConsistency reports whether some bizType has the user-consistency
// check on.
func (in *Instance) NeedsConsistency() bool {
	for _, c := range in.configs {
		if c.ConsistencyCheck {
			return true
		}
	}
	return false
}

// Operations answers an operation log query from the rows kept in memory.
func (in *Instance) Operations(q *opsyncpb.QueryOperations) (rows []*opsyncpb.Operation, truncated bool) {
	return in.ops.query(q)
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
		in.createdAt = ev.Time
	case *opsyncpb.Event_InstanceKeysSet:
		in.setKeys(k.InstanceKeysSet)
		in.keysSetAt = ev.Time
	case *opsyncpb.Event_InstanceSettingsChanged:
		in.settings = proto.Clone(k.InstanceSettingsChanged.GetSettings()).(*opsyncpb.InstanceSettings)
	case *opsyncpb.Event_OperationRecorded:
		in.ops.add(k.OperationRecorded.GetOperation())
	case *opsyncpb.Event_BizTypePut:
		c := proto.Clone(k.BizTypePut.Config).(*opsyncpb.BizTypeConfig)
		if _, exists := in.configs[c.BizType]; !exists {
			in.revive(c.BizType, ev.Time)
		}
		in.configs[c.BizType] = c
	case *opsyncpb.Event_BizTypeDeleted:
		d := k.BizTypeDeleted
		if c, ok := in.configs[d.BizType]; ok {
			in.retire(c, d.PurgeAt)
			delete(in.configs, d.BizType)
		}
	case *opsyncpb.Event_BizTypeOnlineChanged:
		if c, ok := in.configs[k.BizTypeOnlineChanged.BizType]; ok {
			c.Online = k.BizTypeOnlineChanged.Online
			c.UpdatedAt = ev.Time
		}
	case *opsyncpb.Event_CardCallbackRegistered:
		in.setCardCallback(k.CardCallbackRegistered.GetCallback())
	default:
		return fmt.Errorf("events: %T is not an instance event", ev.Kind)
	}
	in.lastSeq = seq
	return nil
}

// Snapshot returns the state as a message to store.
func (in *Instance) Snapshot() *opsyncpb.InstanceSnapshot {
	keys, _ := in.Keys()
	if in.legacySecret != "" {
		// Not sealed yet: written in clear again rather than lost.
		keys.ClientSecret = in.legacySecret
	}
	return &opsyncpb.InstanceSnapshot{LastSeq: in.lastSeq, Created: in.created, Configs: in.Configs(),
		CreatedAt: in.createdAt, Keys: keys, KeysSetAt: in.keysSetAt, Settings: in.Settings(), Operations: in.ops.rows(), Retired: in.retiredList(),
		CardCallbacks: in.cardCallbackList()}
}

// RestoreInstance rebuilds the state a snapshot was taken of.
func RestoreInstance(snap *opsyncpb.InstanceSnapshot) *Instance {
	in := NewInstance()
	in.lastSeq = snap.LastSeq
	in.created = snap.Created
	in.createdAt = snap.CreatedAt
	if snap.Keys != nil {
		in.setKeys(snap.Keys)
	}
	in.keysSetAt = snap.KeysSetAt
	if snap.Settings != nil {
		in.settings = proto.Clone(snap.Settings).(*opsyncpb.InstanceSettings)
	}
	for _, op := range snap.Operations {
		in.ops.add(op)
	}
	for _, c := range snap.Configs {
		in.configs[c.BizType] = proto.Clone(c).(*opsyncpb.BizTypeConfig)
	}
	for _, r := range snap.Retired {
		in.retired[r.Config.GetBizType()] = proto.Clone(r).(*opsyncpb.RetiredBizType)
	}
	for _, c := range snap.CardCallbacks {
		in.setCardCallback(c)
	}
	return in
}

// setKeys keeps keys as stored, migrating credentials written in clear by
// earlier versions: the API key is hashed at once (the hash is all a push
// needs) and the clear key dropped; a clear client secret is held aside
// until the actor seals it (SealLegacySecret).
func (in *Instance) setKeys(k *opsyncpb.InstanceKeysSet) {
	keys := proto.Clone(k).(*opsyncpb.InstanceKeysSet)
	in.legacySecret = ""
	if keys.ApiKey != "" || keys.ClientSecret != "" {
		in.clearKeysRead = true
	}
	if keys.ApiKey != "" && len(keys.ApiKeyHash) == 0 {
		keys.ApiKeyHash, keys.ApiKeyPrefix = auth.HashKey(keys.ApiKey), auth.KeyPrefix(keys.ApiKey)
	}
	if keys.ClientSecret != "" && len(keys.ClientSecretSealed) == 0 {
		in.legacySecret, keys.ClientSecretPrefix = keys.ClientSecret, auth.KeyPrefix(keys.ClientSecret)
	}
	keys.ApiKey, keys.ClientSecret = "", ""
	in.keys = keys
}

// ClearKeysRead reports that an event or snapshot this state was built
// from held a key in clear (written by an earlier version): the actor
// snapshots so that the journal needs them no more.
func (in *Instance) ClearKeysRead() bool { return in.clearKeysRead }

// LegacySecret is the client secret the journal holds in clear (written
// before secrets were sealed) while it is not sealed, else "".
func (in *Instance) LegacySecret() string { return in.legacySecret }

// SealLegacySecret replaces the clear client secret of an old journal
// with sealed, its sealed form; the next snapshot keeps only that.
func (in *Instance) SealLegacySecret(sealed []byte) {
	in.keys.ClientSecretSealed = sealed
	in.legacySecret = ""
}
