package actors

// Inflight tracks, for one client connection, the entries delivered and not
// yet acknowledged, per bizType, and derives the sync point each ack
// reaches: the highest oplog id below which every delivered entry of that
// bizType is acknowledged. An ack out of order therefore never moves a sync
// point past an entry the client has not confirmed.
type Inflight struct {
	byBiz map[string]*bizFlight
	count int
}

type bizFlight struct {
	sent  []uint64 // delivered, ascending; acked ones are popped from the front
	acked map[uint64]bool
	point uint64
}

// NewInflight returns an empty tracker.
func NewInflight() *Inflight { return &Inflight{byBiz: map[string]*bizFlight{}} }

// Len is the number of delivered entries not yet acknowledged.
func (f *Inflight) Len() int { return f.count }

// Sent records that the entry was delivered. Entries of one bizType must be
// recorded in oplog order; an id at or below the last one is ignored.
func (f *Inflight) Sent(bizType string, oplogID uint64) bool {
	b := f.byBiz[bizType]
	if b == nil {
		b = &bizFlight{acked: map[uint64]bool{}}
		f.byBiz[bizType] = b
	}
	if n := len(b.sent); (n > 0 && oplogID <= b.sent[n-1]) || oplogID <= b.point {
		return false
	}
	b.sent = append(b.sent, oplogID)
	f.count++
	return true
}

// Ack records an acknowledgement. It returns the bizType's sync point after
// it and whether the ack moved it.
func (f *Inflight) Ack(bizType string, oplogID uint64) (point uint64, advanced bool) {
	b := f.byBiz[bizType]
	if b == nil {
		return 0, false
	}
	if !b.inFlight(oplogID) || b.acked[oplogID] {
		return b.point, false
	}
	b.acked[oplogID] = true
	before := b.point
	for len(b.sent) > 0 && b.acked[b.sent[0]] {
		delete(b.acked, b.sent[0])
		b.point = b.sent[0]
		b.sent = b.sent[1:]
		f.count--
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
	for _, id := range b.sent {
		if !b.acked[id] {
			out = append(out, id)
		}
	}
	return out
}

func (b *bizFlight) inFlight(id uint64) bool {
	// sent is ascending, so a binary search finds id.
	lo, hi := 0, len(b.sent)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case b.sent[m] == id:
			return true
		case b.sent[m] < id:
			lo = m + 1
		default:
			hi = m
		}
	}
	return false
}

// Forget drops what was delivered of bizType and not acknowledged, so that
// it can be delivered again (after the client unregistered the bizType).
// Its sync point stays.
func (f *Inflight) Forget(bizType string) {
	b := f.byBiz[bizType]
	if b == nil {
		return
	}
	f.count -= len(b.sent)
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
	return b != nil && b.inFlight(oplogID) && !b.acked[oplogID]
}
