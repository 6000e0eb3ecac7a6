package push

import "github.com/opsync/opsync/proto/opsyncpb"

// Entry is the oplog entry the request asks to store, without policy.
func (r Request) Entry() *opsyncpb.Entry {
	return &opsyncpb.Entry{
		BizType:       r.BizType,
		ThirdMsgId:    r.ThirdMsgID,
		Payload:       r.Payload,
		BinaryPayload: r.Binary,
		OsType:        r.Filters.OSType,
		AppMinVersion: r.Filters.AppMinVersion,
		AppMaxVersion: r.Filters.AppMaxVersion,
		ValidTimeEnd:  r.ValidTimeEnd,
	}
}

// dayMs is a day in milliseconds.
const dayMs = 24 * 60 * 60 * 1000

// entryUnder is the entry to store under a bizType's config at nowMs: it
// carries the config's policy, so that the stream applies it as it was
// when the entry came.
//
//   - deleteAfter: nowMs + retentionDays, or validTimeEnd when earlier;
//   - keepKeyUntil: nowMs + retentionDays, whatever removes the entry
//     earlier (a repeat of the push is refused that long);
//   - threshold: the config's, in threshold mode only;
//   - maxRetries: the config's;
//   - singleDevice: a specified-scope user bizType without multiDevice
//     (an entry goes to the user's most recently connected device, once).
func (r Request) entryUnder(cfg *opsyncpb.BizTypeConfig, nowMs int64) *opsyncpb.Entry {
	e := r.Entry()
	e.KeepKeyUntil = nowMs + int64(cfg.RetentionDays)*dayMs
	e.DeleteAfter = e.KeepKeyUntil
	if e.ValidTimeEnd > 0 && e.ValidTimeEnd < e.DeleteAfter {
		e.DeleteAfter = e.ValidTimeEnd
	}
	if cfg.RepushMode == opsyncpb.RepushMode_REPUSH_MODE_THRESHOLD {
		e.Threshold = cfg.Threshold
	}
	e.MaxRetries = cfg.MaxRetries
	e.SingleDevice = cfg.Target == opsyncpb.Target_TARGET_USER && !cfg.MultiDevice && cfg.Scope != opsyncpb.Scope_SCOPE_GLOBAL
	return e
}
