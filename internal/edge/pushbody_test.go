package edge

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

func TestEntryUnderCarriesThePolicy(t *testing.T) {
	const day = 24 * 60 * 60 * 1000
	const now = int64(1_000_000_000_000)
	cfg := &opsyncpb.BizTypeConfig{Target: opsyncpb.Target_TARGET_USER, RetentionDays: 30, MaxRetries: 6,
		RepushMode: opsyncpb.RepushMode_REPUSH_MODE_THRESHOLD, Threshold: 5}
	for _, tc := range []struct {
		name        string
		validEnd    int64
		cfg         func(*opsyncpb.BizTypeConfig)
		deleteAfter int64
		single      bool
	}{
		{"retention bounds it", 0, nil, now + 30*day, true},
		{"an earlier validTimeEnd wins", now + day, nil, now + day, true},
		{"a later validTimeEnd does not", now + 40*day, nil, now + 30*day, true},
		{"multi-device", 0, func(c *opsyncpb.BizTypeConfig) { c.MultiDevice = true }, now + 30*day, false},
		{"device target", 0, func(c *opsyncpb.BizTypeConfig) { c.Target = opsyncpb.Target_TARGET_DEVICE }, now + 30*day, false},
		{"retention of 1 day", 0, func(c *opsyncpb.BizTypeConfig) { c.RetentionDays = 1 }, now + day, true},
	} {
		c := proto.Clone(cfg).(*opsyncpb.BizTypeConfig)
		if tc.cfg != nil {
			tc.cfg(c)
		}
		req := &PushRequest{BizType: "B", ThirdMsgID: "m", Payload: "p", ValidTimeEnd: tc.validEnd}
		e := req.EntryUnder(c, now)
		if e.DeleteAfter != tc.deleteAfter || e.SingleDevice != tc.single || e.Threshold != 5 || e.MaxRetries != 6 || e.ValidTimeEnd != tc.validEnd {
			t.Errorf("%s: %+v", tc.name, e)
		}
	}
	q := proto.Clone(cfg).(*opsyncpb.BizTypeConfig)
	q.RepushMode, q.Threshold = opsyncpb.RepushMode_REPUSH_MODE_QUEUE, 0
	if e := (&PushRequest{}).EntryUnder(q, now); e.Threshold != 0 {
		t.Errorf("queue mode entry has threshold %d", e.Threshold)
	}
}
