package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// defaultTimeout bounds a command when the caller's context has no deadline.
const defaultTimeout = 10 * time.Second

// ErrUnavailable means the actor did not answer in time.
var ErrUnavailable = errors.New("cluster: actor unavailable")

// Push sends a push to the stream of linkToken under the config's target.
// A transient push is delivered to the clients attached now and not stored.
func (m *Member) Push(ctx context.Context, instanceID string, target opsyncpb.Target, linkToken string, e *opsyncpb.Entry, transient bool) (*opsyncpb.PushResult, error) {
	return request[*opsyncpb.PushResult](ctx, m, streamIdentity(instanceID, target, linkToken), actors.KindStream, &opsyncpb.Push{Entry: e, Transient: transient, Deadline: deadline(ctx)})
}

// deadline is when the caller of ctx stops waiting (ms since the epoch),
// for a push to carry: a stream does not store a push that reaches it
// after its caller gave up on it.
func deadline(ctx context.Context) int64 {
	if dl, ok := ctx.Deadline(); ok {
		return dl.UnixMilli()
	}
	return time.Now().Add(defaultTimeout).UnixMilli()
}

// PushGlobal stores an entry in a global bizType's stream.
func (m *Member) PushGlobal(ctx context.Context, instanceID, bizType string, e *opsyncpb.Entry) (*opsyncpb.PushResult, error) {
	return request[*opsyncpb.PushResult](ctx, m, actors.GlobalStream(instanceID, bizType), actors.KindStream, &opsyncpb.Push{Entry: e, Deadline: deadline(ctx)})
}

// PushBatch sends entries to one stream, to be written in one append.
func (m *Member) PushBatch(ctx context.Context, instanceID string, target opsyncpb.Target, linkToken string, es []*opsyncpb.Entry) (*opsyncpb.PushBatchResult, error) {
	res, err := request[*opsyncpb.PushBatchResult](ctx, m, streamIdentity(instanceID, target, linkToken), actors.KindStream, &opsyncpb.PushBatch{Entries: es, Deadline: deadline(ctx)})
	if err == nil && len(res.Results) != len(es) {
		err = fmt.Errorf("cluster: stream answered %d results for %d entries", len(res.Results), len(es))
	}
	return res, err
}

func streamIdentity(instanceID string, target opsyncpb.Target, linkToken string) string {
	if target == opsyncpb.Target_TARGET_DEVICE {
		return actors.DeviceStream(instanceID, linkToken)
	}
	return actors.UserStream(instanceID, linkToken)
}

// StreamStatus asks a user's or device's stream for its records.
func (m *Member) StreamStatus(ctx context.Context, instanceID string, target opsyncpb.Target, id string, since int64, limit uint32) (*opsyncpb.StreamStatusResult, error) {
	return query[*opsyncpb.StreamStatusResult](ctx, m, streamIdentity(instanceID, target, id), actors.KindStream, &opsyncpb.StreamStatus{Since: since, Limit: limit})
}

// GlobalStreamStatus asks a global bizType's stream for its records (its
// statistics count the global pushes).
func (m *Member) GlobalStreamStatus(ctx context.Context, instanceID, bizType string, since int64) (*opsyncpb.StreamStatusResult, error) {
	return query[*opsyncpb.StreamStatusResult](ctx, m, actors.GlobalStream(instanceID, bizType), actors.KindStream, &opsyncpb.StreamStatus{Since: since, Limit: 1})
}

// Sweep wakes a stream (any kind of identity) so that it deletes its
// expired entries, and those of the bizTypes in purgedBefore (whose
// deletion became final) pushed before their time (ms).
func (m *Member) Sweep(ctx context.Context, identity string, purgedBefore map[string]int64) error {
	_, err := request[*opsyncpb.StreamSwept](ctx, m, identity, actors.KindStream, &opsyncpb.SweepStream{PurgedBefore: purgedBefore})
	return err
}

// BizType asks an instance for one bizType config.
func (m *Member) BizType(ctx context.Context, instanceID, bizType string) (*opsyncpb.BizTypeAnswer, error) {
	return query[*opsyncpb.BizTypeAnswer](ctx, m, instanceID, actors.KindInstance, &opsyncpb.GetBizType{BizType: bizType})
}

// BizTypes lists an instance's bizType configs.
func (m *Member) BizTypes(ctx context.Context, instanceID string) (*opsyncpb.BizTypeList, error) {
	return query[*opsyncpb.BizTypeList](ctx, m, instanceID, actors.KindInstance, &opsyncpb.ListBizTypes{})
}

// ChangeConfig sends a config command (PutBizType, DeleteBizType,
// SetBizTypeOnline) to an instance.
func (m *Member) ChangeConfig(ctx context.Context, instanceID string, cmd proto.Message) (*opsyncpb.ConfigResult, error) {
	return request[*opsyncpb.ConfigResult](ctx, m, instanceID, actors.KindInstance, cmd)
}

// Attach starts the client actor of a new connection on this member.
func (m *Member) Attach(p actors.ClientParams) *actors.Client {
	return actors.StartClient(m.system, m.cluster, p)
}

// request sends a command (it changes state) to the actor of identity and
// returns its answer. A command that may have reached an actor is never
// sent twice: when that actor's member leaves the set before answering,
// the command fails at once (its outcome is unknown; a push is answered
// SYSTEM_ERROR and may be retried with the same thirdMsgId).
func request[R proto.Message](ctx context.Context, m *Member, identity, kind string, msg proto.Message) (R, error) {
	return ask[R](ctx, m, identity, kind, msg, false)
}

// query is request for a message that only reads: when the member it
// waits on leaves, it is asked again of the identity's new activation.
func query[R proto.Message](ctx context.Context, m *Member, identity, kind string, msg proto.Message) (R, error) {
	return ask[R](ctx, m, identity, kind, msg, true)
}

func ask[R proto.Message](ctx context.Context, m *Member, identity, kind string, msg proto.Message, repeatable bool) (R, error) {
	var zero R
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	res, err := m.deliver(ctx, identity, kind, msg, repeatable)
	if err != nil {
		return zero, fmt.Errorf("%w: %s %s: %v", ErrUnavailable, kind, identity, err)
	}
	r, ok := res.(R)
	if !ok {
		return zero, fmt.Errorf("cluster: %s %s answered %T", kind, identity, res)
	}
	return r, nil
}
