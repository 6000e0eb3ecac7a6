package actors

import (
	"regexp"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// KindCard is the cluster kind of cards; StateKindCard the kind clients
// open them by (Open.kind).
const (
	KindCard      = "card"
	StateKindCard = "card"
)

// Card answers' codes (CardAnswer.code, CardCallbackResult.code).
const (
	CardNotFound      = "NOT_FOUND"
	CardAlreadyExists = "ALREADY_EXISTS"
	CardSystemError   = "SYSTEM_ERROR"
)

// CardIdentity is the cluster identity of a card of an instance.
func CardIdentity(instanceID, outTrackID string) string { return instanceID + "/c/" + outTrackID }

// outTrackIDPattern is the form of an outTrackId: the backend chooses it
// (often a UUID or a business key); it names a journal, so no '/', no
// spaces, no control characters.
var outTrackIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:@#=+-]{1,128}$`)

// ValidOutTrackID reports whether id can name a card.
func ValidOutTrackID(id string) bool { return outTrackIDPattern.MatchString(id) }

func init() {
	RegisterStateKind(StateKind{Name: StateKindCard, ClusterKind: KindCard, Identity: CardIdentity, ValidID: ValidOutTrackID})
}

// CardKind is the cluster kind of cards.
func CardKind(d *Deps) *cluster.Kind {
	deps := d.withDefaults()
	return cluster.NewKind(KindCard, actor.PropsFromProducer(func() actor.Actor { return newCardActor(deps) }))
}

func newCardActor(deps *Deps) *cardActor {
	return &cardActor{j: newJournaled(deps, KindCard, func(s *state.Card) proto.Message { return s.Snapshot() })}
}

// cardActor is one card: its journal holds the card's public and private
// data and its recipients; it keeps the connections that have the card
// open (its viewers) and sends each the card as its user sees it, one
// frame per user, through the hub of each viewer's node. Dynamic data
// never passes here (the edge pulls it: internal/dynamic).
type cardActor struct {
	j        *journaled[*state.Card]
	identity string
	viewers  map[string]*cardViewer // by client actor address + "/" + id
	// creating: a create is being written; a second one is refused as
	// if the card existed, an update as if it did not yet.
	creating bool
}

// cardViewer is a client actor that has the card open.
type cardViewer struct {
	pid  *actor.PID
	user string
}

func (a *cardActor) Receive(ctx actor.Context) {
	if a.j.receive(ctx) {
		return
	}
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		a.identity = m.Identity.Identity
		a.viewers = map[string]*cardViewer{}
		if a.j.recover(ctx, m, state.NewCard, restoreWith(func() *opsyncpb.CardSnapshot { return &opsyncpb.CardSnapshot{} }, state.RestoreCard)) != nil {
			ctx.Stop(ctx.Self())
			return
		}
		ctx.SetReceiveTimeout(a.j.deps.PassivateAfter)
	case *opsyncpb.CreateCard:
		a.onCreate(ctx, m)
	case *opsyncpb.UpdateCard:
		a.onUpdate(ctx, m)
	case *opsyncpb.DeliverCard:
		a.onDeliver(ctx, m)
	case *opsyncpb.GetCard:
		a.onGet(ctx, m)
	case *opsyncpb.StateSubscribe:
		a.onSubscribe(ctx, m)
	case *opsyncpb.StateUnsubscribe:
		a.dropViewer(ctx, actor.NewPID(m.ClientAddress, m.ClientId))
	case *actor.Terminated:
		a.dropViewer(ctx, m.Who)
	case *actor.ReceiveTimeout:
		if len(a.viewers) == 0 && a.j.idle() {
			ctx.Stop(ctx.Self())
		}
	case *actor.Stopping:
		metrics.CardViewers.Sub(float64(len(a.viewers)))
		a.viewers = nil
	}
}

func (a *cardActor) onCreate(ctx actor.Context, m *opsyncpb.CreateCard) {
	if a.creating || a.j.state.Exists() {
		respond(ctx, &opsyncpb.CardAnswer{Code: CardAlreadyExists, Detail: "card " + a.outTrackID() + " already exists"})
		return
	}
	c := proto.Clone(m.Card).(*opsyncpb.Card)
	now := a.j.deps.now().UnixMilli()
	c.OutTrackId, c.Version, c.CreatedAt, c.UpdatedAt, c.Delivered = a.outTrackID(), 1, now, now, nil
	a.creating = true
	sender := ctx.Sender()
	ev := &opsyncpb.Event{Time: now, Kind: &opsyncpb.Event_CardCreated{CardCreated: &opsyncpb.CardCreated{Card: c}}}
	a.j.persist(ctx, &pending{ev: ev, done: func(ctx actor.Context, _ uint64, err error) {
		a.creating = false
		if err != nil {
			sendTo(ctx, sender, &opsyncpb.CardAnswer{Code: CardSystemError, Detail: err.Error()})
			return
		}
		metrics.CardUpdates.Inc()
		sendTo(ctx, sender, a.answer())
	}})
	a.j.flush()
}

// onUpdate journals the public data (if sent) and the private data of the
// users listed, in one append, and sends the card to the viewers whose
// view changed: all of them after a public change, else those of the
// users whose private data changed.
func (a *cardActor) onUpdate(ctx actor.Context, m *opsyncpb.UpdateCard) {
	if !a.j.state.Exists() {
		respond(ctx, a.notFound())
		return
	}
	now := a.j.deps.now().UnixMilli()
	var evs []*opsyncpb.Event
	if m.HasCardData {
		evs = append(evs, &opsyncpb.Event{Time: now, Kind: &opsyncpb.Event_CardDataUpdated{CardDataUpdated: &opsyncpb.CardDataUpdated{
			CardParamMap: m.CardParamMap, Merge: m.MergeCardData}}})
	}
	if len(m.PrivateData) > 0 {
		evs = append(evs, &opsyncpb.Event{Time: now, Kind: &opsyncpb.Event_PrivateDataUpdated{PrivateDataUpdated: &opsyncpb.PrivateDataUpdated{
			PrivateData: m.PrivateData, Merge: m.MergePrivateData}}})
	}
	if len(evs) == 0 {
		respond(ctx, a.answer()) // nothing to change
		return
	}
	sender := ctx.Sender()
	for i, ev := range evs {
		p := &pending{ev: ev}
		if i == len(evs)-1 {
			p.done = func(ctx actor.Context, _ uint64, err error) {
				if err != nil {
					sendTo(ctx, sender, &opsyncpb.CardAnswer{Code: CardSystemError, Detail: err.Error()})
					return
				}
				metrics.CardUpdates.Inc()
				sendTo(ctx, sender, a.answer())
				a.publish(ctx, a.changedViewers(m))
			}
		}
		a.j.persist(ctx, p)
	}
	a.j.flush()
}

// changedViewers are the viewers an update changed the view of.
func (a *cardActor) changedViewers(m *opsyncpb.UpdateCard) map[string]*cardViewer {
	if m.HasCardData {
		return a.viewers
	}
	to := map[string]*cardViewer{}
	for k, v := range a.viewers {
		if _, ok := m.PrivateData[v.user]; ok {
			to[k] = v
		}
	}
	return to
}

// onDeliver journals the users the card was delivered to (those it was
// not delivered to before), who become recipients.
func (a *cardActor) onDeliver(ctx actor.Context, m *opsyncpb.DeliverCard) {
	if !a.j.state.Exists() {
		respond(ctx, a.notFound())
		return
	}
	known := map[string]bool{}
	for _, u := range a.j.state.Card().Delivered {
		known[u] = true
	}
	var users []string
	for _, u := range m.UserIds {
		if u != "" && !known[u] {
			known[u] = true
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		respond(ctx, a.answer())
		return
	}
	sender := ctx.Sender()
	ev := &opsyncpb.Event{Time: a.j.deps.now().UnixMilli(), Kind: &opsyncpb.Event_CardDelivered{CardDelivered: &opsyncpb.CardDelivered{UserIds: users}}}
	a.j.persist(ctx, &pending{ev: ev, done: func(ctx actor.Context, _ uint64, err error) {
		if err != nil {
			sendTo(ctx, sender, &opsyncpb.CardAnswer{Code: CardSystemError, Detail: err.Error()})
			return
		}
		sendTo(ctx, sender, a.answer())
	}})
	a.j.flush()
}

func (a *cardActor) onGet(ctx actor.Context, m *opsyncpb.GetCard) {
	if !a.j.state.Exists() {
		respond(ctx, a.notFound())
		return
	}
	res := a.answer()
	res.Recipient = a.j.state.IsRecipient(m.UserId)
	respond(ctx, res)
}

func (a *cardActor) notFound() *opsyncpb.CardAnswer {
	return &opsyncpb.CardAnswer{Code: CardNotFound, Detail: "no card " + a.outTrackID()}
}

// answer is the card as it is now: a copy, since the state changes it in
// place and a local caller reads the answer on its own goroutine.
func (a *cardActor) answer() *opsyncpb.CardAnswer {
	return &opsyncpb.CardAnswer{Card: proto.Clone(a.j.state.Card()).(*opsyncpb.Card), Viewers: uint32(len(a.viewers))}
}

// outTrackID is the card's outTrackId (the identity after its instance).
func (a *cardActor) outTrackID() string {
	_, id, _ := strings.Cut(a.identity, "/c/")
	return id
}
