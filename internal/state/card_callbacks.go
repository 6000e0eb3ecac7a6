package state

import (
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// An instance's card callback registrations (callbackRouteKey → URL and
// sealed apiSecret): where opsync pulls the dynamic data of the cards
// created with that route key.

// CardCallback is the registration of routeKey; read-only.
func (in *Instance) CardCallback(routeKey string) (*opsyncpb.CardCallback, bool) {
	c, ok := in.cardCallbacks[routeKey]
	return c, ok
}

// CardCallbacks is the number of registrations.
func (in *Instance) CardCallbacks() int { return len(in.cardCallbacks) }

func (in *Instance) setCardCallback(c *opsyncpb.CardCallback) {
	if in.cardCallbacks == nil {
		in.cardCallbacks = map[string]*opsyncpb.CardCallback{}
	}
	in.cardCallbacks[c.RouteKey] = proto.Clone(c).(*opsyncpb.CardCallback)
}

// cardCallbackList is the registrations for a snapshot, by route key.
func (in *Instance) cardCallbackList() []*opsyncpb.CardCallback {
	out := make([]*opsyncpb.CardCallback, 0, len(in.cardCallbacks))
	for _, c := range in.cardCallbacks {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RouteKey < out[j].RouteKey })
	return out
}
