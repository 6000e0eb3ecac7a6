package state

import (
	"cmp"
	"crypto/sha256"
	"slices"
	"sort"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// MaxRetiredKeys bounds the idempotency keys a stream keeps of entries it
// no longer retains (trimmed, expired, dropped). At the bound the keys of
// the oldest pushes go first (a tenth of the bound at once), so a stream
// refuses the repeats of at least its newest MaxRetiredKeys pushes for
// their whole retention period, and of every push for as long as its
// entry is retained. A key costs about 50 bytes of memory (5 MB for a
// stream at the bound) and 31 bytes of each snapshot.
const MaxRetiredKeys = 100_000

// keySweepEvery is how much event time passes between two sweeps of the
// keys whose time is up: a key past its time answers no longer anyway
// (Duplicate looks at the time), the sweep only frees its memory.
const keySweepEvery = 60 * 60 * 1000

// keyHash is the hash of a push's idempotency key within its stream
// (whose linkToken is fixed): bizType + thirdMsgId. 16 bytes of SHA-256
// keep a key small whatever its strings' lengths, and two keys of one
// stream from colliding in practice.
type keyHash [16]byte

// keyRef is what a stream keeps of one key: the oplog id its push got
// (a repeat answers it) and until when the key is kept (ms; 0: no end).
type keyRef struct {
	oplogID uint64
	until   int64
}

func hashKey(bizType, thirdMsgID string) keyHash {
	sum := sha256.Sum256([]byte(bizType + "\x00" + thirdMsgID))
	return keyHash(sum[:16])
}

// keyUntil is until when an entry's key is kept: its retention period, or
// for entries stored without one, as long as the entry may be retained.
func keyUntil(e *opsyncpb.Entry) int64 {
	if e.KeepKeyUntil > 0 {
		return e.KeepKeyUntil
	}
	return e.DeleteAfter
}

// Duplicate returns the oplog id of the push with this bizType and
// thirdMsgId, if the stream stored one whose key is still kept at nowMs:
// its entry is retained, or it was removed within its retention period.
func (s *Stream) Duplicate(bizType, thirdMsgID string, nowMs int64) (uint64, bool) {
	ref, ok := s.keys[hashKey(bizType, thirdMsgID)]
	if !ok {
		return 0, false
	}
	if ref.until == 0 || nowMs < ref.until {
		return ref.oplogID, true
	}
	_, retained := s.Entry(ref.oplogID)
	return ref.oplogID, retained
}

// KeyCount is the number of idempotency keys the stream keeps.
func (s *Stream) KeyCount() int { return len(s.keys) }

// forgetKeys frees the keys whose time is up at nowMs (at most once per
// keySweepEvery) and, over the bound, the oldest keys of entries no longer
// retained. A retained entry's key stays.
func (s *Stream) forgetKeys(nowMs int64) {
	over := len(s.keys) > len(s.entries)+MaxRetiredKeys
	if !over && nowMs < s.keysSweptAt+keySweepEvery {
		return
	}
	s.keysSweptAt = nowMs
	type retired struct {
		h  keyHash
		id uint64
	}
	var old []retired
	for h, ref := range s.keys {
		if _, retained := s.Entry(ref.oplogID); retained {
			continue
		}
		if ref.until != 0 && ref.until <= nowMs {
			delete(s.keys, h)
			continue
		}
		old = append(old, retired{h, ref.oplogID})
	}
	if excess := len(old) - MaxRetiredKeys*9/10; len(s.keys) > len(s.entries)+MaxRetiredKeys && excess > 0 {
		slices.SortFunc(old, func(a, b retired) int { return cmp.Compare(a.id, b.id) })
		for _, r := range old[:excess] {
			delete(s.keys, r.h)
		}
	}
}

func (s *Stream) restoreKey(k *opsyncpb.IdempotencyKey) {
	s.keys[keyOf(k.Hash)] = keyRef{oplogID: k.OplogId, until: k.Until}
}

// keyOf is the keyHash a stored key's bytes hold.
func keyOf(b []byte) keyHash {
	var h keyHash
	copy(h[:], b)
	return h
}

// keysSnapshot lists the keys in oplog order.
func (s *Stream) keysSnapshot() []*opsyncpb.IdempotencyKey {
	out := make([]*opsyncpb.IdempotencyKey, 0, len(s.keys))
	for h, ref := range s.keys {
		out = append(out, &opsyncpb.IdempotencyKey{Hash: h[:], OplogId: ref.oplogID, Until: ref.until})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OplogId < out[j].OplogId })
	return out
}

// restoreKeys rebuilds the keys of a snapshot. A snapshot taken before
// streams kept keys beyond their entries has none: the retained entries'
// keys are rebuilt then, kept while the entry may be retained.
func (s *Stream) restoreKeys(keys []*opsyncpb.IdempotencyKey) {
	for _, k := range keys {
		s.restoreKey(k)
	}
	for _, e := range s.entries {
		h := hashKey(e.BizType, e.ThirdMsgId)
		if _, ok := s.keys[h]; !ok {
			s.keys[h] = keyRef{oplogID: e.OplogId, until: e.DeleteAfter}
		}
	}
}
