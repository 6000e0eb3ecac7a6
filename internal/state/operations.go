package state

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Operation log actions (Operation.action). The first eight are the
// source's (新建配置, 修改配置, 删除配置, 新建同步, 上线配置, 下线配置, 开启签名,
// 关闭签名); the last three are opsync's own.
const (
	ActionCreateConfig   = "CREATE_CONFIG"
	ActionModifyConfig   = "MODIFY_CONFIG"
	ActionDeleteConfig   = "DELETE_CONFIG"
	ActionCreatePush     = "CREATE_PUSH"
	ActionOnlineConfig   = "ONLINE_CONFIG"
	ActionOfflineConfig  = "OFFLINE_CONFIG"
	ActionSignatureOn    = "SIGNATURE_ON"
	ActionSignatureOff   = "SIGNATURE_OFF"
	ActionCreateInstance = "CREATE_INSTANCE"
	ActionRotateKeys     = "ROTATE_KEYS"
	ActionModifySettings = "MODIFY_SETTINGS"
)

// Bounds of the operation log an instance keeps (in memory and in its
// snapshots; the journal's older events are trimmed at each snapshot like
// every actor's): the rows of the last OperationsKeepMillis before the
// newest row, at most OperationsMaxRows of them. Both are measured on the rows
// themselves, so that a replay keeps exactly the same ones.
const (
	OperationsKeepMillis = 31 * 24 * 60 * 60 * 1000
	OperationsMaxRows    = 10000
	// OperationsMaxQuery is the most rows one query answers.
	OperationsMaxQuery = 1000
)

// operationLog is the recent operation log of an instance, oldest first.
type operationLog struct {
	ops []*opsyncpb.Operation
}

func (l *operationLog) add(op *opsyncpb.Operation) {
	if op == nil {
		return
	}
	l.ops = append(l.ops, proto.Clone(op).(*opsyncpb.Operation))
	cut := 0
	if n := len(l.ops) - OperationsMaxRows; n > 0 {
		cut = n
	}
	oldest := op.Time - OperationsKeepMillis
	for cut < len(l.ops)-1 && l.ops[cut].Time < oldest {
		cut++
	}
	// Reslicing drops the rows without copying the rest; the next growth
	// of the slice copies the live rows only.
	clear(l.ops[:cut])
	l.ops = l.ops[cut:]
}

func (l *operationLog) rows() []*opsyncpb.Operation {
	out := make([]*opsyncpb.Operation, len(l.ops))
	for i, op := range l.ops {
		out[i] = proto.Clone(op).(*opsyncpb.Operation)
	}
	return out
}

// query answers the rows in [q.From, q.To] (To 0: no end) whose operator,
// action (case-insensitive) and bizType (the row's target, exactly) match
// q's when set, newest first, at most
// q.Limit (0 or above OperationsMaxQuery: OperationsMaxQuery) of them.
func (l *operationLog) query(q *opsyncpb.QueryOperations) ([]*opsyncpb.Operation, bool) {
	limit := int(q.GetLimit())
	if limit <= 0 || limit > OperationsMaxQuery {
		limit = OperationsMaxQuery
	}
	var out []*opsyncpb.Operation
	for i := len(l.ops) - 1; i >= 0; i-- {
		op := l.ops[i]
		switch {
		case op.Time < q.GetFrom(), q.GetTo() > 0 && op.Time > q.GetTo():
			continue
		case q.GetOperator() != "" && op.Operator != q.GetOperator():
			continue
		case q.GetAction() != "" && !strings.EqualFold(op.Action, q.GetAction()):
			continue
		case q.GetBizType() != "" && op.Target != q.GetBizType():
			continue
		}
		if len(out) == limit {
			return out, true
		}
		out = append(out, proto.Clone(op).(*opsyncpb.Operation))
	}
	return out, false
}

// configSkip lists the config fields an operation's details leave out:
// the server's timestamps.
var configSkip = map[string]bool{"created_at": true, "updated_at": true}

// ConfigFields is a config as an operation's details: its fields under
// their JSON names (bizType, multiDevice, ...), enums as the admin API
// spells them (user, global, threshold, ...).
func ConfigFields(c *opsyncpb.BizTypeConfig) map[string]string {
	out := map[string]string{}
	if c == nil {
		return out
	}
	m := c.ProtoReflect()
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if configSkip[string(fd.Name())] {
			continue
		}
		out[fd.JSONName()] = fieldText(fd, m.Get(fd))
	}
	return out
}

// ConfigChanges lists the fields that differ between two versions of a
// config: field -> {old, new}.
func ConfigChanges(before, after *opsyncpb.BizTypeConfig) map[string]*opsyncpb.FieldChange {
	old, cur := ConfigFields(before), ConfigFields(after)
	out := map[string]*opsyncpb.FieldChange{}
	for k, v := range cur {
		if old[k] != v {
			out[k] = &opsyncpb.FieldChange{Old: old[k], New: v}
		}
	}
	for k, v := range old {
		if _, ok := cur[k]; !ok {
			out[k] = &opsyncpb.FieldChange{Old: v}
		}
	}
	return out
}

// fieldText spells a scalar field's value; an enum value without the
// enum's prefix, in lower case (TARGET_DEVICE: device).
func fieldText(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	if fd.Kind() == protoreflect.EnumKind {
		ev := fd.Enum().Values().ByNumber(v.Enum())
		if ev == nil {
			return fmt.Sprint(int32(v.Enum()))
		}
		name := string(ev.Name())
		if i := strings.Index(name, "_"); i >= 0 {
			prefix := strings.ToUpper(camelToSnake(string(fd.Enum().Name()))) + "_"
			name = strings.TrimPrefix(name, prefix)
		}
		return strings.ToLower(name)
	}
	return fmt.Sprint(v.Interface())
}

// camelToSnake turns RepushMode into repush_mode.
func camelToSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}
