package card

import (
	"fmt"
	"strings"
)

// Space is one space of a delivery's openSpaceId
// ("dtv1.card//<type>.<id>;<type>.<id>…") with the users it reaches, or
// why it reaches none (Fail).
type Space struct {
	Type  string // as written: im_group, im_robot, im_single, one_box, top, doc, …
	ID    string
	Users []string
	Fail  string
}

// SpaceType is the space's type as the answer spells it (IM_GROUP).
func (s Space) SpaceType() string { return strings.ToUpper(s.Type) }

// openSpacePrefix begins every openSpaceId.
const openSpacePrefix = "dtv1.card//"

// maxSpaces bounds the spaces of one delivery.
const maxSpaces = 100

// Spaces reads openSpaceId and the users of each space: im_robot and
// im_single name their user; im_group takes its users from
// imGroupOpenDeliverModel.recipients (opsync has no group membership),
// one_box and top from topOpenDeliverModel.userIds, doc from
// docOpenDeliverModel.userId. A space whose users are not given, or of a
// type opsync does not deliver to, fails alone (Fail says why).
func (r *DeliverRequest) Spaces() ([]Space, *Error) {
	rest, ok := strings.CutPrefix(r.OpenSpaceID, openSpacePrefix)
	if r.OpenSpaceID == "" {
		return nil, invalid("openSpaceId is required")
	}
	if !ok || rest == "" {
		return nil, invalid("openSpaceId must be dtv1.card//<type>.<id>[;<type>.<id>…]")
	}
	parts := strings.Split(rest, ";")
	if len(parts) > maxSpaces {
		return nil, invalid(fmt.Sprintf("openSpaceId names more than %d spaces", maxSpaces))
	}
	var spaces []Space
	users := 0
	for _, p := range parts {
		if p == "" {
			continue
		}
		typ, id, ok := strings.Cut(p, ".")
		if !ok || typ == "" || id == "" || len(id) > MaxID {
			return nil, invalid(fmt.Sprintf("openSpaceId: %q is not <type>.<id>", p))
		}
		s := Space{Type: strings.ToLower(typ), ID: id}
		switch s.Type {
		case "im_robot", "im_single":
			s.Users = []string{id}
		case "im_group":
			if r.ImGroup != nil {
				s.Users = r.ImGroup.Recipients
			}
			if len(s.Users) == 0 {
				s.Fail = "opsync has no group membership: list the group's users in imGroupOpenDeliverModel.recipients"
			}
		case "one_box", "top":
			if r.Top != nil {
				s.Users = r.Top.UserIDs
			}
			if len(s.Users) == 0 {
				s.Fail = "list the users in topOpenDeliverModel.userIds"
			}
		case "doc":
			if r.Doc != nil && r.Doc.UserID != "" {
				s.Users = []string{r.Doc.UserID}
			} else {
				s.Fail = "name the user in docOpenDeliverModel.userId"
			}
		default:
			s.Fail = "opsync does not deliver to spaces of type " + typ
		}
		for _, u := range s.Users {
			if e := checkID("a recipient's userId", u, true); e != nil {
				return nil, e
			}
		}
		users += len(s.Users)
		spaces = append(spaces, s)
	}
	if len(spaces) == 0 {
		return nil, invalid("openSpaceId names no space")
	}
	if users > MaxUsers {
		return nil, invalid(fmt.Sprintf("a delivery reaches at most %d users", MaxUsers))
	}
	return spaces, nil
}
