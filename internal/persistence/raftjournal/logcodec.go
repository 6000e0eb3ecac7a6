package raftjournal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// A raft.Log is stored as
//
//	uvarint index | uvarint term | byte type | uvarint len(data) | data |
//	uvarint len(extensions) | extensions | varint appendedAt (unix ns, 0 = zero time)
//
// Raft compares entries by index and term only, so nothing here needs a
// stable order beyond round-tripping exactly.

func encodeLog(buf []byte, l *raft.Log) []byte {
	buf = binary.AppendUvarint(buf, l.Index)
	buf = binary.AppendUvarint(buf, l.Term)
	buf = append(buf, byte(l.Type))
	buf = binary.AppendUvarint(buf, uint64(len(l.Data)))
	buf = append(buf, l.Data...)
	buf = binary.AppendUvarint(buf, uint64(len(l.Extensions)))
	buf = append(buf, l.Extensions...)
	var at int64
	if !l.AppendedAt.IsZero() {
		at = l.AppendedAt.UnixNano()
	}
	return binary.AppendVarint(buf, at)
}

var errCorruptLog = errors.New("raftjournal: corrupt log entry")

// decodeLog fills l from b, copying the byte slices (b belongs to Pebble).
func decodeLog(b []byte, l *raft.Log) error {
	var ok bool
	if l.Index, b, ok = uvarint(b); !ok {
		return errCorruptLog
	}
	if l.Term, b, ok = uvarint(b); !ok {
		return errCorruptLog
	}
	if len(b) < 1 {
		return errCorruptLog
	}
	l.Type = raft.LogType(b[0])
	b = b[1:]
	if l.Data, b, ok = bytesField(b); !ok {
		return errCorruptLog
	}
	if l.Extensions, b, ok = bytesField(b); !ok {
		return errCorruptLog
	}
	at, n := binary.Varint(b)
	if n <= 0 || n != len(b) {
		return fmt.Errorf("%w: bad trailer", errCorruptLog)
	}
	l.AppendedAt = time.Time{}
	if at != 0 {
		l.AppendedAt = time.Unix(0, at)
	}
	return nil
}

func uvarint(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, false
	}
	return v, b[n:], true
}

// bytesField reads a length-prefixed byte string; an empty one decodes as
// nil, as raft itself leaves absent data.
func bytesField(b []byte) ([]byte, []byte, bool) {
	n, b, ok := uvarint(b)
	if !ok || n > uint64(len(b)) {
		return nil, nil, false
	}
	if n == 0 {
		return nil, b, true
	}
	return append([]byte(nil), b[:n]...), b[n:], true
}
