package state

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Card is the state of an interactive card: its public data, each
// recipient's private data, the users it was delivered to, its dynamic
// config; nil card before it was created. Its journal holds CardCreated,
// then CardDataUpdated, PrivateDataUpdated and CardDelivered; its
// snapshots the card.
type Card struct {
	lastSeq uint64
	card    *opsyncpb.Card
}

// NewCard returns the state of a card that has no events.
func NewCard() *Card { return &Card{} }

// LastSeq is the sequence number of the last applied event.
func (c *Card) LastSeq() uint64 { return c.lastSeq }

// Exists reports whether the card was created.
func (c *Card) Exists() bool { return c.card != nil }

// Card is the card (nil before creation); read-only.
func (c *Card) Card() *opsyncpb.Card { return c.card }

// Version is the card's version, 0 before creation.
func (c *Card) Version() uint64 { return c.card.GetVersion() }

// IsRecipient reports whether user may see the card: its creator, a
// user with private data, or one it was delivered to.
func (c *Card) IsRecipient(user string) bool {
	if c.card == nil || user == "" {
		return false
	}
	if user == c.card.UserId {
		return true
	}
	if _, ok := c.card.PrivateData[user]; ok {
		return true
	}
	_, found := slices.BinarySearch(c.card.Delivered, user)
	return found
}

// Apply applies the event stored under seq.
func (c *Card) Apply(seq uint64, ev *opsyncpb.Event) error {
	if seq <= c.lastSeq {
		return fmt.Errorf("events: card event %d applied after %d", seq, c.lastSeq)
	}
	switch k := ev.Kind.(type) {
	case *opsyncpb.Event_CardCreated:
		if c.card != nil {
			return fmt.Errorf("events: card %s created twice", c.card.OutTrackId)
		}
		n := proto.Clone(k.CardCreated.GetCard()).(*opsyncpb.Card)
		if n.PublicData == nil {
			n.PublicData = map[string]string{}
		}
		if n.PrivateData == nil {
			n.PrivateData = map[string]*opsyncpb.CardParams{}
		}
		n.Version = 1
		sort.Strings(n.Delivered)
		n.Delivered = slices.Compact(n.Delivered)
		c.card = n
	case *opsyncpb.Event_CardDataUpdated:
		if c.card == nil {
			return fmt.Errorf("events: card data updated before the card was created")
		}
		u := k.CardDataUpdated
		c.card.PublicData = setParams(c.card.PublicData, u.CardParamMap, u.Merge)
		c.changed(ev.Time)
	case *opsyncpb.Event_PrivateDataUpdated:
		if c.card == nil {
			return fmt.Errorf("events: private data updated before the card was created")
		}
		u := k.PrivateDataUpdated
		for user, p := range u.PrivateData {
			cur := c.card.PrivateData[user]
			if cur == nil {
				cur = &opsyncpb.CardParams{}
				c.card.PrivateData[user] = cur
			}
			cur.CardParamMap = setParams(cur.CardParamMap, p.GetCardParamMap(), u.Merge)
		}
		c.changed(ev.Time)
	case *opsyncpb.Event_CardDelivered:
		if c.card == nil {
			return fmt.Errorf("events: card delivered before it was created")
		}
		c.card.Delivered = append(c.card.Delivered, k.CardDelivered.UserIds...)
		sort.Strings(c.card.Delivered)
		c.card.Delivered = slices.Compact(c.card.Delivered)
	default:
		return fmt.Errorf("events: %T is not a card event", ev.Kind)
	}
	c.lastSeq = seq
	return nil
}

// changed raises the version after a change of the card's data.
func (c *Card) changed(at int64) {
	c.card.Version++
	c.card.UpdatedAt = at
}

// setParams is cur with next merged over it by key (merge), or next.
func setParams(cur, next map[string]string, merge bool) map[string]string {
	if !merge {
		return maps.Clone(next)
	}
	if cur == nil {
		cur = map[string]string{}
	}
	maps.Copy(cur, next)
	return cur
}

// View is what user sees of the card: the public data with the user's
// private data merged over it by key, and which keys came from it.
func (c *Card) View(user string) *opsyncpb.CardView {
	v := &opsyncpb.CardView{OutTrackId: c.card.OutTrackId, CardTemplateId: c.card.CardTemplateId, Version: c.card.Version,
		CardParamMap: maps.Clone(c.card.PublicData)}
	if v.CardParamMap == nil {
		v.CardParamMap = map[string]string{}
	}
	if p := c.card.PrivateData[user]; p != nil {
		for k, val := range p.CardParamMap {
			v.CardParamMap[k] = val
			v.PrivateKeys = append(v.PrivateKeys, k)
		}
		sort.Strings(v.PrivateKeys)
	}
	return v
}

// Snapshot returns the state as a message to store.
func (c *Card) Snapshot() *opsyncpb.CardSnapshot {
	return &opsyncpb.CardSnapshot{LastSeq: c.lastSeq, Card: c.card}
}

// RestoreCard rebuilds the state a snapshot was taken of.
func RestoreCard(s *opsyncpb.CardSnapshot) *Card {
	c := &Card{lastSeq: s.LastSeq, card: s.Card}
	if c.card != nil {
		if c.card.PublicData == nil {
			c.card.PublicData = map[string]string{}
		}
		if c.card.PrivateData == nil {
			c.card.PrivateData = map[string]*opsyncpb.CardParams{}
		}
	}
	return c
}
