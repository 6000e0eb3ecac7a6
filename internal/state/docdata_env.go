package state

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// DocEnv is the documents' config of one environment (instance): its REST
// API secret, sealed (nil before one was issued).
type DocEnv struct {
	lastSeq   uint64
	secret    *opsyncpb.DocEnvSecretSet
	keys      []*opsyncpb.DocEnvKeySet // ascending version
	destroyed bool
}

// Keys are the environment's data keys, wrapped, oldest first.
func (e *DocEnv) Keys() []*opsyncpb.DocEnvKeySet { return e.keys }

// Destroyed reports whether the environment was deleted.
func (e *DocEnv) Destroyed() bool { return e.destroyed }

// NewDocEnv returns the state of an environment without events.
func NewDocEnv() *DocEnv { return &DocEnv{} }

// LastSeq is the sequence number of the last applied event.
func (e *DocEnv) LastSeq() uint64 { return e.lastSeq }

// Secret is the sealed API secret as stored (nil: none issued).
func (e *DocEnv) Secret() *opsyncpb.DocEnvSecretSet { return e.secret }

// Apply applies the event stored under seq.
func (e *DocEnv) Apply(seq uint64, ev *opsyncpb.Event) error {
	if seq <= e.lastSeq {
		return fmt.Errorf("events: doc env event %d applied after %d", seq, e.lastSeq)
	}
	de, ok := ev.Kind.(*opsyncpb.Event_DocEnv)
	if !ok {
		return fmt.Errorf("events: %T is not a doc env event", ev.Kind)
	}
	switch k := de.DocEnv.Kind.(type) {
	case *opsyncpb.DocEnvEvent_SecretSet:
		if len(k.SecretSet.SecretSealed) == 0 {
			return fmt.Errorf("events: doc env secret set without a secret")
		}
		if e.destroyed {
			return fmt.Errorf("events: doc env secret set after its destruction")
		}
		e.secret = proto.Clone(k.SecretSet).(*opsyncpb.DocEnvSecretSet)
	case *opsyncpb.DocEnvEvent_KeySet:
		if e.destroyed || len(k.KeySet.KeyWrapped) == 0 || (len(e.keys) > 0 && k.KeySet.Version <= e.keys[len(e.keys)-1].Version) {
			return fmt.Errorf("events: doc env key %d set out of order, empty or after destruction", k.KeySet.Version)
		}
		e.keys = append(e.keys, proto.Clone(k.KeySet).(*opsyncpb.DocEnvKeySet))
	case *opsyncpb.DocEnvEvent_Destroyed:
		// The keys and the secret go first of all.
		e.secret, e.keys, e.destroyed = nil, nil, true
	default:
		return fmt.Errorf("events: unknown doc env event %T", de.DocEnv.Kind)
	}
	e.lastSeq = seq
	return nil
}

// Snapshot returns the state as a message to store.
func (e *DocEnv) Snapshot() *opsyncpb.DocEnvSnapshot {
	return &opsyncpb.DocEnvSnapshot{LastSeq: e.lastSeq, Secret: e.secret, Keys: e.keys, Destroyed: e.destroyed}
}

// RestoreDocEnv rebuilds the state a snapshot was taken of.
func RestoreDocEnv(s *opsyncpb.DocEnvSnapshot) *DocEnv {
	return &DocEnv{lastSeq: s.LastSeq, secret: s.Secret, keys: s.Keys, destroyed: s.Destroyed}
}
