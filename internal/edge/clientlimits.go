package edge

import (
	"time"

	"golang.org/x/time/rate"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Limits of what one connection may ask of the server after Connect.
const (
	// maxOpenSources bounds the state sources one connection has open.
	maxOpenSources = 256
	// controlPerSecond and controlBurst are the token bucket of a
	// connection's control frames (every frame but Ack): a client may
	// register its bizTypes and open its sources at once (the burst holds
	// the most it may have of both), but not churn them without end; each
	// RegisterBiz or Open costs the server actor messages, and a lookup of
	// the instance's configs for an unknown bizType.
	controlPerSecond = 20
	controlBurst     = maxBizPerClient + maxOpenSources
)

// connLimits track what one connection holds — the bizTypes it registered
// (in Connect and since), the state sources it opened — and how fast it
// sends control frames, so that no client can make the server hold or do
// without bound.
type connLimits struct {
	biz     map[string]struct{}
	sources map[string]struct{}
	control *rate.Limiter
}

func newConnLimits(c *opsyncpb.Connect) *connLimits {
	l := &connLimits{biz: make(map[string]struct{}, len(c.BizTypes)), sources: map[string]struct{}{},
		control: rate.NewLimiter(controlPerSecond, controlBurst)}
	for _, b := range c.BizTypes {
		l.biz[b.BizType] = struct{}{}
	}
	return l
}

// admit records a frame the client sent at now, or returns the protocol
// error it is: a control frame over the rate, a RegisterBiz past the bound
// of registered bizTypes, an Open past the bound of open sources. Acks are
// not limited: they are the client doing what the server asks.
func (l *connLimits) admit(f *opsyncpb.ClientFrame, now time.Time) error {
	if f.GetAck() == nil && !l.control.AllowN(now, 1) {
		return protocolErr(CloseRateLimited, "rate limited: more than %d control frames a second (RegisterBiz, UnregisterBiz, Open, Close, Ping; a burst of %d)", controlPerSecond, controlBurst)
	}
	switch m := f.Frame.(type) {
	case *opsyncpb.ClientFrame_RegisterBiz:
		return hold(l.biz, m.RegisterBiz.BizType, maxBizPerClient, "register: more than %d bizTypes registered on one connection")
	case *opsyncpb.ClientFrame_UnregisterBiz:
		delete(l.biz, m.UnregisterBiz.BizType)
	case *opsyncpb.ClientFrame_Open:
		return hold(l.sources, m.Open.Kind+"/"+m.Open.Id, maxOpenSources, "open: more than %d sources open")
	case *opsyncpb.ClientFrame_Close:
		delete(l.sources, m.Close.Kind+"/"+m.Close.Id)
	}
	return nil
}

// hold adds key to set unless that would make it larger than bound.
func hold(set map[string]struct{}, key string, bound int, tooMany string) error {
	if _, held := set[key]; !held && len(set) >= bound {
		return protocolErr(CloseBadFrame, tooMany, bound)
	}
	set[key] = struct{}{}
	return nil
}
