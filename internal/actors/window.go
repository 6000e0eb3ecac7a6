package actors

// Inflight tracks, for one client connection, the entries delivered and not
// yet acknowledged, per bizType, and derives the sync point each ack
// reaches: the highest oplog id below which every delivered entry of that
// bizType is acknowledged. An ack out of order therefore never moves a sync
// point past an entry the client has not confirmed.
//
// It counts what the unacknowledged entries weigh too (their messages and
// bytes): the connection's window is in both.
type Inflight struct {
	byBiz map[string]*bizFlight
	count int
	bytes int64
}

type bizFlight struct {
	sent  []flight // delivered, ascending id; acked ones are popped from the front
	acked map[uint64]bool
	point uint64
}

// flight is one delivered entry: its oplog id and size (state.EntrySize).
type flight struct {
	id   uint64
	size uint32
}

// NewInflight returns an empty tracker.
func NewInflight() *Inflight { return &Inflight{byBiz: map[string]*bizFlight{}} }

// Len is the number of delivered entries not yet acknowledged.
func (f *Inflight) Len() int { return f.count }

// Bytes is the size of the delivered entries not yet acknowledged.
func (f *Inflight) Bytes() int64 { return f.bytes }

// Sent records that the entry, of size bytes, was delivered. Entries of
// one bizType must be recorded in oplog order; an id at or below the last
// one is ignored.
func (f *Inflight) Sent(bizType string, oplogID uint64, size uint32) bool {
	b := f.byBiz[bizType]
	if b == nil {
		b = &bizFlight{acked: map[uint64]bool{}}
		f.byBiz[bizType] = b
	}
	if n := len(b.sent); (n > 0 && oplogID <= b.sent[n-1].id) || oplogID <= b.point {
		return false
	}
	b.sent = append(b.sent, flight{oplogID, size})
	f.count++
	f.bytes += int64(size)
	return true
}

// Ack records an acknowledgement. It returns the bizType's sync point after
// it and whether the ack moved it. The entry leaves the window at once,
// even when an older one is still unacknowledged.
func (f *Inflight) Ack(bizType string, oplogID uint64) (point uint64, advanced bool) {
	b := f.byBiz[bizType]
	if b == nil {
		return 0, false
	}
	i, ok := b.find(oplogID)
	if !ok || b.acked[oplogID] {
		return b.point, false
	}
	b.acked[oplogID] = true
	f.count--
	f.bytes -= int64(b.sent[i].size)
	before := b.point
	for len(b.sent) > 0 && b.acked[b.sent[0].id] {
		delete(b.acked, b.sent[0].id)
		b.point = b.sent[0].id
		b.sent = b.sent[1:]
	}
	return b.point, b.point != before
}

// Outstanding returns the unacknowledged oplog ids of bizType, ascending.
func (f *Inflight) Outstanding(bizType string) []uint64 {
	b := f.byBiz[bizType]
	if b == nil {
		return nil
	}
	var out []uint64
	for _, s := range b.sent {
		if !b.acked[s.id] {
			out = append(out, s.id)
		}
	}
	return out
}

// find returns the index of id in sent, which is ascending.
func (b *bizFlight) find(id uint64) (int, bool) {
	lo, hi := 0, len(b.sent)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case b.sent[m].id == id:
			return m, true
		case b.sent[m].id < id:
			lo = m + 1
		default:
			hi = m
		}
	}
	return 0, false
}

// Forget drops what was delivered of bizType and not acknowledged, so that
// it can be delivered again (after the client unregistered the bizType).
// Its sync point stays.
func (f *Inflight) Forget(bizType string) {
	b := f.byBiz[bizType]
	if b == nil {
		return
	}
	for _, s := range b.sent {
		if !b.acked[s.id] {
			f.count--
			f.bytes -= int64(s.size)
		}
	}
	b.sent = nil
	clear(b.acked)
}

// Point is bizType's sync point: the highest oplog id up to which every
// entry delivered here is acknowledged (0: none acknowledged here yet).
func (f *Inflight) Point(bizType string) uint64 {
	if b := f.byBiz[bizType]; b != nil {
		return b.point
	}
	return 0
}

// Pending reports whether the entry was delivered and is not yet
// acknowledged.
func (f *Inflight) Pending(bizType string, oplogID uint64) bool {
	b := f.byBiz[bizType]
	if b == nil {
		return false
	}
	_, ok := b.find(oplogID)
	return ok && !b.acked[oplogID]
}
