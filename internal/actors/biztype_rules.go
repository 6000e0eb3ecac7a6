package actors

import (
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// bizTypePattern is the identifier rule. The source *recommends* capitals
// and '-' but enforces neither (its own sample registers "bizType"), so
// apps that followed its sample must keep working: letters of either case,
// digits, '-' and '_', at most 30 characters. Identifiers are matched
// exactly: "chat" and "CHAT" are two bizTypes.
var bizTypePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,30}$`)

// BizTypeRule says what ValidBizType accepts, for error messages.
const BizTypeRule = "1-30 characters of A-Z, a-z, 0-9, '-' and '_'"

// ValidBizType reports whether s is a well-formed bizType identifier.
func ValidBizType(s string) bool { return bizTypePattern.MatchString(s) }

// Limits of a bizType config.
const (
	maxDescriptionLen = 200
	maxThreshold      = 100000
	maxRetriesLimit   = 6
	maxRetentionDays  = 3650
)

// normalizeConfig checks a config to store and fills what the server owns:
// timestamps and, on creation, the online state (new configs start online;
// an update keeps the current one).
func normalizeConfig(in, existing *opsyncpb.BizTypeConfig, now int64) (*opsyncpb.BizTypeConfig, error) {
	if in == nil {
		return nil, errors.New("config missing")
	}
	c := proto.Clone(in).(*opsyncpb.BizTypeConfig)
	switch {
	case !ValidBizType(c.BizType):
		return nil, fmt.Errorf("bizType %q must be %s", c.BizType, BizTypeRule)
	case utf8.RuneCountInString(c.Description) > maxDescriptionLen:
		return nil, fmt.Errorf("description longer than %d characters", maxDescriptionLen)
	case c.Target == opsyncpb.Target_TARGET_DEVICE && c.MultiDevice:
		return nil, errors.New("multiDevice applies to user targets only")
	case c.Target == opsyncpb.Target_TARGET_DEVICE && c.ConsistencyCheck:
		return nil, errors.New("consistencyCheck applies to user targets only")
	case c.RepushMode == opsyncpb.RepushMode_REPUSH_MODE_THRESHOLD && (c.Threshold < 1 || c.Threshold > maxThreshold):
		return nil, fmt.Errorf("threshold must be 1-%d in threshold mode", maxThreshold)
	case c.RepushMode == opsyncpb.RepushMode_REPUSH_MODE_QUEUE && c.Threshold != 0:
		return nil, errors.New("threshold applies to threshold mode only")
	case c.MaxRetries > maxRetriesLimit:
		return nil, fmt.Errorf("maxRetries must be 0-%d", maxRetriesLimit)
	case c.RetentionDays < 1 || c.RetentionDays > maxRetentionDays:
		return nil, fmt.Errorf("retentionDays must be 1-%d", maxRetentionDays)
	case !c.Persistent && c.Scope == opsyncpb.Scope_SCOPE_GLOBAL:
		return nil, errors.New("global bizTypes are persistent")
	case c.PushToOnline && c.Scope != opsyncpb.Scope_SCOPE_GLOBAL:
		return nil, errors.New("pushToOnline applies to global bizTypes only")
	case c.Scope == opsyncpb.Scope_SCOPE_GLOBAL && (c.MultiDevice || c.ConsistencyCheck || c.RepushMode != opsyncpb.RepushMode_REPUSH_MODE_QUEUE):
		return nil, errors.New("global bizTypes are multi-device, queue mode, without consistency check")
	}
	c.UpdatedAt = now
	if existing == nil {
		c.Online = true
		c.CreatedAt = now
	} else {
		c.Online = existing.Online
		c.CreatedAt = existing.CreatedAt
	}
	return c, nil
}
