package client

// syncPoints tracks, per bizType, the sync point and the messages above it
// that were delivered (received from the server) but not yet reported, or
// reported ahead of an earlier one. The sync point only advances over
// reported messages: to the highest reported oplog id below every
// unreported delivered one, so a report out of order never skips a
// message the application has not confirmed. It is not safe for
// concurrent use.
type syncPoints struct {
	biz map[string]*bizPoints
}

type bizPoints struct {
	point     uint64
	delivered map[uint64]bool // above point, not reported
	reported  map[uint64]bool // above point, reported
}

func newSyncPoints(saved map[string]uint64) *syncPoints {
	s := &syncPoints{biz: map[string]*bizPoints{}}
	for b, p := range saved {
		s.get(b).point = p
	}
	return s
}

func (s *syncPoints) get(biz string) *bizPoints {
	b := s.biz[biz]
	if b == nil {
		b = &bizPoints{delivered: map[uint64]bool{}, reported: map[uint64]bool{}}
		s.biz[biz] = b
	}
	return b
}

// point is biz's sync point.
func (s *syncPoints) point(biz string) uint64 {
	if b := s.biz[biz]; b != nil {
		return b.point
	}
	return 0
}

// points returns every non-zero sync point.
func (s *syncPoints) points() map[string]uint64 {
	out := make(map[string]uint64, len(s.biz))
	for name, b := range s.biz {
		if b.point > 0 {
			out[name] = b.point
		}
	}
	return out
}

// received records a message arriving from the server. It returns false
// for one already reported (at or below the sync point, or reported out of
// order): the client acknowledges it again and does not deliver it.
func (s *syncPoints) received(biz string, id uint64) bool {
	b := s.get(biz)
	if id <= b.point || b.reported[id] {
		return false
	}
	b.delivered[id] = true
	return true
}

// report records that the application has handled a message. advanced
// tells whether the sync point moved.
func (s *syncPoints) report(biz string, id uint64) (advanced bool, err error) {
	b := s.get(biz)
	switch {
	case id <= b.point || b.reported[id]:
		return false, nil
	case !b.delivered[id]:
		return false, ErrNotDelivered
	}
	delete(b.delivered, id)
	b.reported[id] = true
	return b.advance(), nil
}

// advance moves the point to the highest reported id below every
// delivered one.
func (b *bizPoints) advance() bool {
	limit := ^uint64(0)
	for id := range b.delivered {
		limit = min(limit, id)
	}
	before := b.point
	for id := range b.reported {
		if id < limit {
			b.point = max(b.point, id)
			delete(b.reported, id)
		}
	}
	return b.point != before
}
