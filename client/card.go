package client

import (
	"errors"
	"fmt"
	"regexp"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Cards (README "Cards"): a client of a signed-in user opens a card by
// its outTrackId and receives the card as this user sees it (the public
// data with the user's private data merged over it) through OnCardView,
// then every newer version, and the dynamic data opsync pulls for this
// user through OnCardDynamic. A card that does not exist, or that this
// user is not a recipient of, answers one CardView of version 0 with no
// data, and nothing after it. Deliveries of cards arrive as messages of
// the bizType OPSYNC_CARD (RegisterBiz; the payload is a CardDelivery,
// ParseCardDelivery). Open cards are opened again after a reconnect.

// CardBizType is the reserved bizType of card deliveries.
const CardBizType = "OPSYNC_CARD"

const cardKind = "card"

// maxOpenCards is the client's bound of open cards.
const maxOpenCards = 256

var outTrackIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:@#=+-]{1,128}$`)

// ErrInvalidOutTrackID is returned for an outTrackId the server would
// refuse.
var ErrInvalidOutTrackID = errors.New("opsync client: an outTrackId is 1-128 characters of A-Z, a-z, 0-9 and _ . : @ # = + -")

// cardState is the client's open cards and card callbacks; c.mu guards it.
type cardState struct {
	open      map[string]*openCard
	onView    func(*opsyncpb.CardView)
	onDynamic func(*opsyncpb.CardDynamicData)
}

// openCard is what the client passed on of an open card.
type openCard struct {
	version uint64 // the newest version passed to OnCardView
	refused bool   // the version 0 answer was passed on
}

// OnCardView sets the callback of card views (nil: none).
func (c *Client) OnCardView(fn func(*opsyncpb.CardView)) {
	c.mu.Lock()
	c.cards.onView = fn
	c.mu.Unlock()
}

// OnCardDynamic sets the callback of cards' dynamic data (nil: none).
func (c *Client) OnCardDynamic(fn func(*opsyncpb.CardDynamicData)) {
	c.mu.Lock()
	c.cards.onDynamic = fn
	c.mu.Unlock()
}

// OpenCard opens a card: OnCardView receives its current version, then
// every newer one, in order, and OnCardDynamic its dynamic data, until
// CloseCard. Opening an open card does nothing.
func (c *Client) OpenCard(outTrackID string) error {
	if !outTrackIDPattern.MatchString(outTrackID) {
		return ErrInvalidOutTrackID
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.cards.open == nil {
		c.cards.open = map[string]*openCard{}
	}
	if c.cards.open[outTrackID] != nil {
		return nil
	}
	if len(c.cards.open) >= maxOpenCards {
		return fmt.Errorf("opsync client: at most %d cards open", maxOpenCards)
	}
	c.cards.open[outTrackID] = &openCard{}
	if c.conn != nil {
		c.conn.sendLocked(cardFrame(outTrackID, true))
	}
	return nil
}

// CloseCard closes a card: nothing more of it is passed on, and opsync
// stops pulling its dynamic data for this connection.
func (c *Client) CloseCard(outTrackID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cards.open[outTrackID] == nil {
		return
	}
	delete(c.cards.open, outTrackID)
	if c.conn != nil {
		c.conn.sendLocked(cardFrame(outTrackID, false))
	}
}

func cardFrame(outTrackID string, open bool) *opsyncpb.ClientFrame {
	if open {
		return &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Open{Open: &opsyncpb.Open{Kind: cardKind, Id: outTrackID}}}
	}
	return &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Close{Close: &opsyncpb.Close{Kind: cardKind, Id: outTrackID}}}
}

// reopenCardsLocked queues an Open for every open card on a new
// connection. c.mu is held.
func (c *Client) reopenCardsLocked(cn *conn) {
	for id, oc := range c.cards.open {
		if oc.refused {
			continue
		}
		cn.out = append(cn.out, cardFrame(id, true))
	}
	if len(c.cards.open) > 0 {
		cn.kick()
	}
}

// receivedCardState passes a card's view on unless it is not newer than
// the last one passed on (a reconnect sends the current version again).
func (c *Client) receivedCardState(u *opsyncpb.StateUpdate) {
	if u.Kind != cardKind {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	oc := c.cards.open[u.Id]
	if oc == nil || oc.refused {
		return
	}
	if u.Version == 0 && u.Deleted {
		if oc.version == 0 {
			oc.refused = true
			c.events.push(event{cardView: &opsyncpb.CardView{OutTrackId: u.Id}})
		}
		return
	}
	if u.Version <= oc.version {
		return
	}
	v := &opsyncpb.CardView{}
	if err := proto.Unmarshal(u.Data, v); err != nil {
		return
	}
	oc.version = u.Version
	c.events.push(event{cardView: v})
}

// receivedDynamic passes dynamic data of an open card on.
func (c *Client) receivedDynamic(d *opsyncpb.CardDynamicData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cards.open[d.OutTrackId] == nil {
		return
	}
	c.events.push(event{dynamic: d})
}

// dispatchCard runs a card callback; false when e is not a card event.
func (c *Client) dispatchCard(e event) bool {
	switch {
	case e.cardView != nil:
		c.mu.Lock()
		fn := c.cards.onView
		c.mu.Unlock()
		if fn != nil {
			fn(e.cardView)
		}
	case e.dynamic != nil:
		c.mu.Lock()
		fn := c.cards.onDynamic
		c.mu.Unlock()
		if fn != nil {
			fn(e.dynamic)
		}
	default:
		return false
	}
	return true
}

// ParseCardDelivery reads the payload of an OPSYNC_CARD message.
func ParseCardDelivery(m Message) (*opsyncpb.CardDelivery, error) {
	d := &opsyncpb.CardDelivery{}
	if err := proto.Unmarshal(m.BinaryPayload, d); err != nil {
		return nil, fmt.Errorf("opsync client: not a card delivery: %w", err)
	}
	return d, nil
}
