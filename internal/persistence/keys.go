package persistence

// Key layout of the Pebble store. All actors of a node share one keyspace:
//
//	journal event   'j' | uint16 BE len(actorID) | actorID | uint64 BE seq  -> event bytes
//	highest seq     'h' | uint16 BE len(actorID) | actorID                  -> uint64 BE seq
//	snapshot        's' | uint16 BE len(actorID) | actorID | uint64 BE seq  -> snapshot bytes
//	metadata        'm' | name                                              -> value
//	format version  'v'                                                     -> uint64 BE version
//
// The length prefix is what keeps actors apart: without it the events of
// actor "a" with a seq starting with byte 'b' would sort among those of
// actor "ab", and a range over one actor could catch another. With it, the
// keys of one actor and one kind all have the same length and share a prefix
// no other actor has, so [key(from), key(to)+0x00) is exactly the actor's
// seqs from..to, and a range delete can never reach a neighbour.
//
// Big-endian seqs make byte order equal numeric order, so iteration is in
// sequence order and "latest snapshot <= n" is one reverse seek.
//
// The highest seq has a key of its own instead of being derived from the
// last event: deleting every event must not lower it, or a restarted actor
// would reuse sequence numbers. It is written in the same batch as the events
// it covers, so it is never ahead of or behind the journal.
//
// Metadata (for instance the replicated log index a replica has applied)
// belongs to the store, not to an actor: listings and checkpoints skip it.
//
// The format version (see FormatVersion) belongs to the data directory, not
// to what is replicated into it: it is a kind of its own, so checkpoints,
// their imports and metadata writes never carry or overwrite it.
//
// Listing actors (offline) walks the 'h' keys: every actor that ever
// appended has one, even with all its events deleted.

import (
	"encoding/binary"
	"fmt"
)

const (
	kindEvent    byte = 'j'
	kindHighest  byte = 'h'
	kindSnapshot byte = 's'
	kindMeta     byte = 'm'
	kindFormat   byte = 'v'

	seqLen = 8
)

// CheckActorID returns an ErrInvalidActorID unless id can be encoded: the
// uint16 length prefix would hold longer ids, MaxActorIDLen keeps keys
// small. A replicated store checks with it before proposing a write.
func CheckActorID(id string) error {
	if len(id) == 0 || len(id) > MaxActorIDLen {
		return fmt.Errorf("%w: %d bytes", ErrInvalidActorID, len(id))
	}
	return nil
}

// actorPrefix returns kind | len | id with room for a seq after it.
func actorPrefix(kind byte, id string) []byte {
	k := make([]byte, 0, 1+2+len(id)+seqLen+1)
	k = append(k, kind)
	k = binary.BigEndian.AppendUint16(k, uint16(len(id)))
	return append(k, id...)
}

func metaKey(name string) []byte { return append([]byte{kindMeta}, name...) }

func highestKey(id string) []byte { return actorPrefix(kindHighest, id) }

func formatKey() []byte { return []byte{kindFormat} }

func seqKey(kind byte, id string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(actorPrefix(kind, id), seq)
}

// seqBounds returns the iterator / range-delete bounds [lower, upper) that
// hold exactly the keys of id and kind with from <= seq <= to. upper is
// key(to) followed by a zero byte: the immediate successor of key(to), which
// works for to = MaxSeq too, where key(to+1) would overflow.
func seqBounds(kind byte, id string, from, to uint64) (lower, upper []byte) {
	lower = seqKey(kind, id, from)
	upper = append(seqKey(kind, id, to), 0)
	return lower, upper
}

// decodeSeqKey splits a journal or snapshot key into its actor id and seq.
func decodeSeqKey(k []byte) (id string, seq uint64, ok bool) {
	id, rest, ok := decodeActor(k)
	if !ok || len(rest) != seqLen {
		return "", 0, false
	}
	return id, binary.BigEndian.Uint64(rest), true
}

// decodeActor splits kind | len | id | rest.
func decodeActor(k []byte) (id string, rest []byte, ok bool) {
	if len(k) < 3 {
		return "", nil, false
	}
	n := int(binary.BigEndian.Uint16(k[1:3]))
	if len(k) < 3+n || n == 0 {
		return "", nil, false
	}
	return string(k[3 : 3+n]), k[3+n:], true
}

// kindBounds returns the bounds of every key of one kind.
func kindBounds(kind byte) (lower, upper []byte) {
	return []byte{kind}, []byte{kind + 1}
}

// actorSuccessor returns the smallest key after every key of kind and id,
// for skipping to the next actor.
func actorSuccessor(kind byte, id string) []byte {
	p := actorPrefix(kind, id)
	// Every key of this actor is p + 8 bytes, so p + 9 bytes of 0xff is past
	// all of them and before the next actor's prefix.
	for range seqLen + 1 {
		p = append(p, 0xff)
	}
	return p
}

func encodeSeq(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func decodeSeq(v []byte) (uint64, bool) {
	if len(v) != seqLen {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}
