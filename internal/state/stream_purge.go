package state

// PushedBefore returns the retained entries of bizType pushed before
// cutoffMs, in oplog order: those of a deletion of the bizType that
// became final.
func (s *Stream) PushedBefore(bizType string, cutoffMs int64) []uint64 {
	var out []uint64
	for _, e := range s.entries {
		if e.BizType == bizType && e.PushTime < cutoffMs {
			out = append(out, e.OplogId)
		}
	}
	return out
}
