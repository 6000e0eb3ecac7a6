package actors

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// The instance's rules for a bizType's life: a deletion withholds its
// entries for the grace period (Deps.DeleteGrace, 24 h here) and is final
// after it, unless the bizType is created again within it; its target,
// scope and persistence never change.

// shaped is a put of bizType A whose config f changes.
func shaped(f func(*opsyncpb.BizTypeConfig)) proto.Message {
	c := config("A", "v1")
	f(c)
	return &opsyncpb.PutBizType{Config: c}
}

// lifeStep is one command at a time after the previous one, with the
// answer it must get.
type lifeStep struct {
	after time.Duration
	cmd   proto.Message
	code  string
}

func TestBizTypeLifecycle(t *testing.T) {
	put, del := putConfig("A", "v1"), &opsyncpb.DeleteBizType{BizType: "A"}
	device := shaped(func(c *opsyncpb.BizTypeConfig) { c.Target = opsyncpb.Target_TARGET_DEVICE })
	grace := DefaultDeleteGrace
	cases := []struct {
		name   string
		steps  []lifeStep
		askAt  time.Duration // after the last step
		online []string      // configs present, "A" or "A (offline)"
		held   []string      // deleted within the grace period
		purged map[string]int64
	}{
		{name: "a deletion withholds within the grace period",
			steps: []lifeStep{{0, put, ConfigOK}, {time.Hour, del, ConfigOK}}, askAt: grace - time.Millisecond,
			held: []string{"A"}, purged: map[string]int64{}},
		{name: "and is final after it, the purge time stamped at the deletion",
			steps: []lifeStep{{0, put, ConfigOK}, {time.Hour, del, ConfigOK}}, askAt: grace,
			purged: map[string]int64{"A": ms(time.Hour + grace)}},
		{name: "created again within the grace period: restored, nothing purged",
			steps: []lifeStep{{0, put, ConfigOK}, {0, del, ConfigOK}, {grace - time.Millisecond, put, ConfigOK}}, askAt: 10 * grace,
			online: []string{"A"}, purged: map[string]int64{}},
		{name: "created again after it: the old entries stay deleted",
			steps: []lifeStep{{0, put, ConfigOK}, {0, del, ConfigOK}, {grace, put, ConfigOK}}, askAt: 0,
			online: []string{"A"}, purged: map[string]int64{"A": ms(grace)}},
		{name: "offline is not a deletion",
			steps: []lifeStep{{0, put, ConfigOK}, {0, &opsyncpb.SetBizTypeOnline{BizType: "A"}, ConfigOK}}, askAt: 10 * grace,
			online: []string{"A (offline)"}, purged: map[string]int64{}},
		{name: "a new bizType takes any target",
			steps: []lifeStep{{0, device, ConfigOK}}, online: []string{"A"}, purged: map[string]int64{}},
		{name: "a new target is refused",
			steps: []lifeStep{{0, put, ConfigOK}, {0, device, ConfigConflict}}, online: []string{"A"}, purged: map[string]int64{}},
		{name: "a new scope is refused",
			steps:  []lifeStep{{0, put, ConfigOK}, {0, shaped(func(c *opsyncpb.BizTypeConfig) { c.Scope = opsyncpb.Scope_SCOPE_GLOBAL }), ConfigConflict}},
			online: []string{"A"}, purged: map[string]int64{}},
		{name: "a new persistence is refused",
			steps:  []lifeStep{{0, put, ConfigOK}, {0, shaped(func(c *opsyncpb.BizTypeConfig) { c.Persistent = false }), ConfigConflict}},
			online: []string{"A"}, purged: map[string]int64{}},
		{name: "a new target is refused after a final deletion too",
			steps:  []lifeStep{{0, put, ConfigOK}, {0, del, ConfigOK}, {2 * grace, device, ConfigConflict}},
			purged: map[string]int64{"A": ms(grace)}},
		{name: "other fields change",
			steps:  []lifeStep{{0, put, ConfigOK}, {0, shaped(func(c *opsyncpb.BizTypeConfig) { c.Description, c.MaxRetries, c.RetentionDays = "v2", 3, 7 }), ConfigOK}},
			online: []string{"A"}, purged: map[string]int64{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newInstanceTest(t)
			for i, s := range c.steps {
				h.clock.Advance(s.after)
				if r := request[*opsyncpb.ConfigResult](t, h.system, h.pid, s.cmd); r.Code != s.code {
					t.Fatalf("step %d (%T): %s %s, want %s", i, s.cmd, r.Code, r.Message, s.code)
				}
			}
			h.clock.Advance(c.askAt)
			h.checkList(h.pid, c.online, c.held, c.purged)
			// A new activation replays the same answers.
			deps := h.deps
			again := spawnGrain(h.system, actor.PropsFromProducer(func() actor.Actor { return newInstanceActor(deps) }), testInstance, KindInstance)
			h.checkList(again, c.online, c.held, c.purged)
		})
	}
}

// checkList checks the configs list pid answers: the configs there, the
// bizTypes withheld and the final deletions' cutoffs.
func (h *instanceTest) checkList(pid *actor.PID, online, held []string, purged map[string]int64) {
	h.t.Helper()
	l := request[*opsyncpb.BizTypeList](h.t, h.system, pid, &opsyncpb.ListBizTypes{})
	var got []string
	for _, c := range l.Configs {
		if c.Online {
			got = append(got, c.BizType)
		} else {
			got = append(got, c.BizType+" (offline)")
		}
	}
	if !slices.Equal(got, online) || !slices.Equal(l.Deleted, held) || fmt.Sprint(l.PurgedBefore) != fmt.Sprint(purged) {
		h.t.Fatalf("configs %v, deleted %v, purged %v; want %v, %v, %v", got, l.Deleted, l.PurgedBefore, online, held, purged)
	}
}
