package persistence

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// ActorInfo summarises one actor's journal and snapshots.
type ActorInfo struct {
	ID          string
	HighestSeq  uint64 // 0 if the actor only ever saved snapshots
	Events      int    // events still stored (not deleted)
	FirstSeq    uint64 // lowest stored event, 0 if none
	SnapshotSeq uint64 // latest snapshot, 0 if none
}

// Actors calls fn for every actor that ever appended an event or saved a
// snapshot, in key order (shorter ids first, then bytewise), from one
// point-in-time view. It reads every stored event key, so it is meant for
// offline inspection, not for a serving node. An error from fn stops the walk
// and is returned.
func (s *PebbleStore) Actors(fn func(ActorInfo) error) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	snap := s.db.NewSnapshot()
	defer snap.Close()

	newIter := func(kind byte) (*pebble.Iterator, error) {
		lo, hi := kindBounds(kind)
		return snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	}
	hi, err := newIter(kindHighest)
	if err != nil {
		return fmt.Errorf("persistence: list actors: %w", err)
	}
	defer hi.Close()
	si, err := newIter(kindSnapshot)
	if err != nil {
		return fmt.Errorf("persistence: list actors: %w", err)
	}
	defer si.Close()
	ji, err := newIter(kindEvent)
	if err != nil {
		return fmt.Errorf("persistence: list actors: %w", err)
	}
	defer ji.Close()

	// The 'h' and 's' keyspaces are walked side by side, merged on the
	// encoded actor (len | id), which sorts the same in both.
	hValid, sValid := hi.First(), si.First()
	for hValid || sValid {
		var hActor, sActor []byte
		if hValid {
			hActor = hi.Key()[1:]
		}
		if sValid {
			sActor = actorPart(si.Key())
		}
		var id string
		var info ActorInfo
		takeH, takeS := hValid, sValid
		if hValid && sValid {
			c := bytes.Compare(hActor, sActor)
			takeH, takeS = c <= 0, c >= 0
		}
		if takeH {
			var rest []byte
			var ok bool
			id, rest, ok = decodeActor(hi.Key())
			if !ok || len(rest) != 0 {
				return fmt.Errorf("persistence: list actors: corrupt key %x", hi.Key())
			}
			v, err := hi.ValueAndErr()
			if err != nil {
				return fmt.Errorf("persistence: list actors: %w", err)
			}
			if info.HighestSeq, ok = decodeSeq(v); !ok {
				return fmt.Errorf("persistence: highest seq of %q: corrupt value (%d bytes)", id, len(v))
			}
		}
		if takeS {
			sid, _, ok := decodeSeqKey(si.Key())
			if !ok {
				return fmt.Errorf("persistence: list actors: corrupt key %x", si.Key())
			}
			id = sid
			// Latest snapshot of this actor, then on to the next actor.
			next := actorSuccessor(kindSnapshot, id)
			if !si.SeekLT(next) {
				return fmt.Errorf("persistence: list actors: snapshot of %q vanished: %v", id, si.Error())
			}
			_, info.SnapshotSeq, _ = decodeSeqKey(si.Key())
			sValid = si.SeekGE(next)
		}
		info.ID = id

		lo, up := seqBounds(kindEvent, id, 0, MaxSeq)
		ji.SetBounds(lo, up)
		for valid := ji.First(); valid; valid = ji.Next() {
			if info.Events == 0 {
				_, info.FirstSeq, _ = decodeSeqKey(ji.Key())
			}
			info.Events++
		}
		if err := ji.Error(); err != nil {
			return fmt.Errorf("persistence: list actors: %w", err)
		}

		if err := fn(info); err != nil {
			return err
		}
		if takeH {
			hValid = hi.Next()
		}
	}
	if err := hi.Error(); err != nil {
		return fmt.Errorf("persistence: list actors: %w", err)
	}
	if err := si.Error(); err != nil {
		return fmt.Errorf("persistence: list actors: %w", err)
	}
	return nil
}

// actorPart returns len | id of a journal or snapshot key.
func actorPart(k []byte) []byte {
	if len(k) < 1+seqLen {
		return k
	}
	return k[1 : len(k)-seqLen]
}

// ActorIDs calls fn with the id of every actor that ever appended an
// event, in key order. Unlike Actors it reads one key per actor, so a
// serving node can use it (the retention sweeper does).
func (s *PebbleStore) ActorIDs(fn func(id string) error) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	lo, hi := kindBounds(kindHighest)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("persistence: list actor ids: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) < 3 {
			continue
		}
		if err := fn(string(k[3:])); err != nil {
			return err
		}
	}
	return it.Error()
}
