package state

import (
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// What an instance keeps of its deleted bizTypes.
//
// Deleting a config stops the delivery of its entries at once; they are
// deleted at the deletion's purge time (the deletion time plus a grace
// period), unless the bizType is created again before then, which
// restores their delivery. After the purge time the deletion is final:
// every entry of the bizType pushed before it is deleted, also if the
// bizType is created again later. Whether a deletion is final depends on
// the time it is asked at, not on an event: no timer has to write one,
// and every replay agrees.

// retire records the deletion of bizType's config c at purgeAt (0: a
// deletion journaled before purge times existed, which deletes nothing).
func (in *Instance) retire(c *opsyncpb.BizTypeConfig, purgeAt int64) {
	r := in.retired[c.GetBizType()]
	if r == nil {
		r = &opsyncpb.RetiredBizType{}
		in.retired[c.GetBizType()] = r
	}
	r.Config = proto.Clone(c).(*opsyncpb.BizTypeConfig)
	r.PurgeAt = purgeAt
}

// revive settles a pending deletion of bizType as its config is created
// again at nowMs: before the purge time the deletion is undone (its
// entries are delivered again); at or after it, it is final.
func (in *Instance) revive(bizType string, nowMs int64) {
	r := in.retired[bizType]
	if r == nil || r.PurgeAt == 0 {
		return
	}
	if nowMs >= r.PurgeAt {
		r.PurgedBefore = max(r.PurgedBefore, r.PurgeAt)
	}
	r.PurgeAt = 0
}

// Shape returns the config that fixes bizType's target, scope and
// persistence: its current config, else the last one it had before it was
// deleted; nil for a bizType that never existed.
func (in *Instance) Shape(bizType string) *opsyncpb.BizTypeConfig {
	if c, ok := in.Config(bizType); ok {
		return c
	}
	if r := in.retired[bizType]; r != nil {
		return proto.Clone(r.Config).(*opsyncpb.BizTypeConfig)
	}
	return nil
}

// Deleted lists, in order, the bizTypes deleted and still within their
// grace period at nowMs: their entries are kept but not delivered.
func (in *Instance) Deleted(nowMs int64) []string {
	var out []string
	for biz, r := range in.retired {
		if r.PurgeAt > nowMs {
			out = append(out, biz)
		}
	}
	sort.Strings(out)
	return out
}

// PurgedBefore maps each bizType with a final deletion at nowMs to the
// push time before which its entries are deleted.
func (in *Instance) PurgedBefore(nowMs int64) map[string]int64 {
	out := map[string]int64{}
	for biz, r := range in.retired {
		cut := r.PurgedBefore
		if r.PurgeAt != 0 && r.PurgeAt <= nowMs {
			cut = max(cut, r.PurgeAt)
		}
		if cut > 0 {
			out[biz] = cut
		}
	}
	return out
}

// retiredList is the retired bizTypes as a snapshot stores them, ordered.
func (in *Instance) retiredList() []*opsyncpb.RetiredBizType {
	out := make([]*opsyncpb.RetiredBizType, 0, len(in.retired))
	for _, r := range in.retired {
		out = append(out, proto.Clone(r).(*opsyncpb.RetiredBizType))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Config.GetBizType() < out[j].Config.GetBizType() })
	return out
}
