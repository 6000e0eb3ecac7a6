package edge

import (
	"fmt"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// ConfigBody is a bizType config as the admin API reads it. Absent fields
// take the defaults of a new config: specified scope, user target,
// persistent, queue mode, 6 retries, 30 days' retention.
type ConfigBody struct {
	Description      string  `json:"description"`
	Scope            string  `json:"scope"`
	Target           string  `json:"target"`
	MultiDevice      bool    `json:"multiDevice"`
	Persistent       *bool   `json:"persistent"`
	RepushMode       string  `json:"repushMode"`
	Threshold        uint32  `json:"threshold"`
	MaxRetries       *uint32 `json:"maxRetries"`
	ConsistencyCheck bool    `json:"consistencyCheck"`
	RetentionDays    *uint32 `json:"retentionDays"`
	PushToOnline     bool    `json:"pushToOnline"`
}

// ConfigJSON is a bizType config as the admin API answers it.
type ConfigJSON struct {
	BizType          string `json:"bizType"`
	Description      string `json:"description"`
	Scope            string `json:"scope"`
	Target           string `json:"target"`
	MultiDevice      bool   `json:"multiDevice"`
	Persistent       bool   `json:"persistent"`
	RepushMode       string `json:"repushMode"`
	Threshold        uint32 `json:"threshold,omitempty"`
	MaxRetries       uint32 `json:"maxRetries"`
	ConsistencyCheck bool   `json:"consistencyCheck"`
	RetentionDays    uint32 `json:"retentionDays"`
	PushToOnline     bool   `json:"pushToOnline"`
	Online           bool   `json:"online"`
	CreatedAt        int64  `json:"createdAt"`
	UpdatedAt        int64  `json:"updatedAt"`
}

var (
	scopes      = map[string]opsyncpb.Scope{"": opsyncpb.Scope_SCOPE_SPECIFIED, "specified": opsyncpb.Scope_SCOPE_SPECIFIED, "single": opsyncpb.Scope_SCOPE_SPECIFIED, "global": opsyncpb.Scope_SCOPE_GLOBAL}
	targets     = map[string]opsyncpb.Target{"": opsyncpb.Target_TARGET_USER, "user": opsyncpb.Target_TARGET_USER, "device": opsyncpb.Target_TARGET_DEVICE}
	repushModes = map[string]opsyncpb.RepushMode{"": opsyncpb.RepushMode_REPUSH_MODE_QUEUE, "queue": opsyncpb.RepushMode_REPUSH_MODE_QUEUE, "threshold": opsyncpb.RepushMode_REPUSH_MODE_THRESHOLD}
)

// toProto builds the config to store; the instance actor checks the rules
// that involve more than one field.
func (b *ConfigBody) toProto(bizType string) (*opsyncpb.BizTypeConfig, error) {
	scope, ok := scopes[b.Scope]
	if !ok {
		return nil, fmt.Errorf("scope must be specified or global, not %q", b.Scope)
	}
	target, ok := targets[b.Target]
	if !ok {
		return nil, fmt.Errorf("target must be user or device, not %q", b.Target)
	}
	mode, ok := repushModes[b.RepushMode]
	if !ok {
		return nil, fmt.Errorf("repushMode must be queue or threshold, not %q", b.RepushMode)
	}
	c := &opsyncpb.BizTypeConfig{
		BizType: bizType, Description: b.Description, Scope: scope, Target: target, MultiDevice: b.MultiDevice,
		Persistent: true, RepushMode: mode, Threshold: b.Threshold, MaxRetries: 6, ConsistencyCheck: b.ConsistencyCheck, RetentionDays: 30,
		PushToOnline: b.PushToOnline,
	}
	if b.Persistent != nil {
		c.Persistent = *b.Persistent
	}
	if b.MaxRetries != nil {
		c.MaxRetries = *b.MaxRetries
	}
	if b.RetentionDays != nil {
		c.RetentionDays = *b.RetentionDays
	}
	return c, nil
}

func configJSON(c *opsyncpb.BizTypeConfig) ConfigJSON {
	j := ConfigJSON{
		BizType: c.BizType, Description: c.Description, Scope: "specified", Target: "user", MultiDevice: c.MultiDevice,
		Persistent: c.Persistent, RepushMode: "queue", Threshold: c.Threshold, MaxRetries: c.MaxRetries,
		ConsistencyCheck: c.ConsistencyCheck, RetentionDays: c.RetentionDays, PushToOnline: c.PushToOnline, Online: c.Online, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if c.Scope == opsyncpb.Scope_SCOPE_GLOBAL {
		j.Scope = "global"
	}
	if c.Target == opsyncpb.Target_TARGET_DEVICE {
		j.Target = "device"
	}
	if c.RepushMode == opsyncpb.RepushMode_REPUSH_MODE_THRESHOLD {
		j.RepushMode = "threshold"
	}
	return j
}
