package card

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Limits of the card API (README "Cards").
const (
	// MaxBody bounds a request body (HTTP 413 past it).
	MaxBody = 256 << 10
	// MaxID bounds outTrackId, cardTemplateId, userIds, callbackRouteKey
	// and dynamicDataSourceIds, in bytes.
	MaxID = 128
	// MaxParams bounds the keys of one cardParamMap; MaxParamKey and
	// MaxParamValue their bytes.
	MaxParams     = 512
	MaxParamKey   = 128
	MaxParamValue = 16 << 10
	// MaxUsers bounds the users of one privateData and of one delivery.
	MaxUsers = 1000
	// MaxSources bounds a card's dynamic data sources.
	MaxSources = 20
	// MaxURL and MaxSecret bound a callback registration.
	MaxURL    = 2048
	MaxSecret = 256
)

// MinPullInterval is the shortest INTERVAL pull, in seconds.
const MinPullInterval = 6

// params is the service's {"cardParamMap": {…}}.
type params struct {
	CardParamMap map[string]string `json:"cardParamMap"`
}

// number is an integer sent as a JSON number or a decimal string (the
// service's docs send "30").
type number struct {
	set bool
	n   int64
}

func (v *number) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	if s == "null" {
		return nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("must be an integer (a number or a decimal string), not %s", b)
	}
	v.set, v.n = true, n
	return nil
}

type sourceRequest struct {
	ID         string `json:"dynamicDataSourceId"`
	PullConfig *struct {
		PullStrategy string `json:"pullStrategy"`
		Interval     number `json:"interval"`
		TimeUnit     string `json:"timeUnit"`
	} `json:"pullConfig"`
}

// CreateRequest is the body of createCard (and the card part of
// createAndDeliver).
type CreateRequest struct {
	OutTrackID            string             `json:"outTrackId"`
	CardTemplateID        string             `json:"cardTemplateId"`
	UserID                string             `json:"userId"`
	UserIDType            number             `json:"userIdType"`
	CardData              *params            `json:"cardData"`
	PrivateData           map[string]*params `json:"privateData"`
	CallbackRouteKey      string             `json:"callbackRouteKey"`
	OpenDynamicDataConfig *struct {
		Sources []sourceRequest `json:"dynamicDataSourceConfigs"`
	} `json:"openDynamicDataConfig"`
}

// UpdateRequest is the body of updateCard.
type UpdateRequest struct {
	OutTrackID        string             `json:"outTrackId"`
	CardData          *params            `json:"cardData"`
	PrivateData       map[string]*params `json:"privateData"`
	CardUpdateOptions *struct {
		UpdateCardDataByKey    bool `json:"updateCardDataByKey"`
		UpdatePrivateDataByKey bool `json:"updatePrivateDataByKey"`
	} `json:"cardUpdateOptions"`
}

// DeliverRequest is the body of deliverCard (and the delivery part of
// createAndDeliver): the spaces of openSpaceId, and the users of those
// that name none themselves.
type DeliverRequest struct {
	OutTrackID  string `json:"outTrackId"`
	OpenSpaceID string `json:"openSpaceId"`
	ImGroup     *struct {
		Recipients []string `json:"recipients"`
	} `json:"imGroupOpenDeliverModel"`
	Top *struct {
		UserIDs []string `json:"userIds"`
	} `json:"topOpenDeliverModel"`
	Doc *struct {
		UserID string `json:"userId"`
	} `json:"docOpenDeliverModel"`
}

// RegisterRequest is the body of registerCallback.
type RegisterRequest struct {
	CallbackRouteKey string `json:"callbackRouteKey"`
	CallbackURL      string `json:"callbackUrl"`
	APISecret        string `json:"apiSecret"`
	ForceUpdate      bool   `json:"forceUpdate"`
}

// decode reads a JSON object body into v, naming the field a type error
// is in.
func decode(body []byte, v any) *Error {
	if len(body) > MaxBody {
		return TooLarge()
	}
	if !utf8.Valid(body) {
		return invalid("the body is not UTF-8")
	}
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return invalid("the body must be a JSON object")
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalid(fmt.Sprintf("%s must be a JSON %s, not %s", te.Field, kindOf(te.Type.Kind().String()), te.Value))
		}
		return invalid("the body is not valid JSON: " + err.Error())
	}
	return nil
}

func kindOf(k string) string {
	switch k {
	case "slice":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	}
	return k
}

// TooLarge answers a body over MaxBody.
func TooLarge() *Error {
	return &Error{Code: CodeInvalid, Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("the body is over %d bytes", MaxBody)}
}

func checkOutTrackID(id string) *Error {
	switch {
	case id == "":
		return invalid("outTrackId is required")
	case !actors.ValidOutTrackID(id):
		return invalid(fmt.Sprintf("outTrackId must be 1-%d characters of A-Z, a-z, 0-9 and _ . : @ # = + -", MaxID))
	}
	return nil
}

func checkID(field, v string, required bool) *Error {
	switch {
	case v == "" && required:
		return invalid(field + " is required")
	case len(v) > MaxID:
		return invalid(fmt.Sprintf("%s is longer than %d bytes", field, MaxID))
	}
	return nil
}

func checkParams(field string, m map[string]string) *Error {
	if len(m) > MaxParams {
		return invalid(fmt.Sprintf("%s has more than %d keys", field, MaxParams))
	}
	for k, v := range m {
		switch {
		case k == "":
			return invalid(field + " has an empty key")
		case len(k) > MaxParamKey:
			return invalid(fmt.Sprintf("%s has a key longer than %d bytes", field, MaxParamKey))
		case len(v) > MaxParamValue:
			return invalid(fmt.Sprintf("%s.%s is longer than %d bytes", field, k, MaxParamValue))
		}
	}
	return nil
}

// privateData checks a privateData object and makes it the actors'.
func privateData(m map[string]*params) (map[string]*opsyncpb.CardParams, *Error) {
	if len(m) > MaxUsers {
		return nil, invalid(fmt.Sprintf("privateData lists more than %d users", MaxUsers))
	}
	out := make(map[string]*opsyncpb.CardParams, len(m))
	for user, p := range m {
		if e := checkID("a userId of privateData", user, true); e != nil {
			return nil, e
		}
		var cp map[string]string
		if p != nil {
			cp = p.CardParamMap
		}
		if e := checkParams("privateData."+user+".cardParamMap", cp); e != nil {
			return nil, e
		}
		out[user] = &opsyncpb.CardParams{CardParamMap: cp}
	}
	return out, nil
}

// unitSeconds are the pull time units.
var unitSeconds = map[string]int64{"SECONDS": 1, "MINUTES": 60, "HOURS": 3600, "DAYS": 86400}

// maxIntervalSeconds bounds an INTERVAL pull (30 days).
const maxIntervalSeconds = 30 * 86400

// source checks a dynamic data source.
func source(i int, s sourceRequest) (*opsyncpb.DynamicSourceConfig, *Error) {
	field := fmt.Sprintf("dynamicDataSourceConfigs[%d]", i)
	if e := checkID(field+".dynamicDataSourceId", s.ID, true); e != nil {
		return nil, e
	}
	c := &opsyncpb.DynamicSourceConfig{SourceId: s.ID, PullStrategy: "ONCE"}
	if s.PullConfig == nil {
		return c, nil
	}
	switch strings.ToUpper(s.PullConfig.PullStrategy) {
	case "", "ONCE":
		return c, nil
	case "INTERVAL":
	default:
		return nil, invalid(field + ".pullConfig.pullStrategy must be ONCE or INTERVAL")
	}
	unit := strings.ToUpper(s.PullConfig.TimeUnit)
	if unit == "" {
		unit = "SECONDS"
	}
	mult, ok := unitSeconds[unit]
	if !ok {
		return nil, invalid(field + ".pullConfig.timeUnit must be SECONDS, MINUTES, HOURS or DAYS")
	}
	n := s.PullConfig.Interval.n
	if n < 1 || n > maxIntervalSeconds || n*mult < MinPullInterval || n*mult > maxIntervalSeconds {
		return nil, &Error{Code: CodeIntervalInvalid, Status: http.StatusBadRequest,
			Msg: fmt.Sprintf("%s.pullConfig: an INTERVAL pull needs an interval of %d seconds to 30 days", field, MinPullInterval)}
	}
	c.PullStrategy, c.TimeUnit, c.Interval, c.IntervalSeconds = "INTERVAL", unit, n, n*mult
	return c, nil
}

// ParseCreate reads and checks a createCard body.
func ParseCreate(body []byte) (*opsyncpb.Card, *Error) {
	var r CreateRequest
	if e := decode(body, &r); e != nil {
		return nil, e
	}
	return r.card()
}

func (r *CreateRequest) card() (*opsyncpb.Card, *Error) {
	if e := checkOutTrackID(r.OutTrackID); e != nil {
		return nil, e
	}
	for _, f := range []struct{ name, v string }{{"cardTemplateId", r.CardTemplateID}, {"userId", r.UserID}, {"callbackRouteKey", r.CallbackRouteKey}} {
		if e := checkID(f.name, f.v, f.name == "cardTemplateId"); e != nil {
			return nil, e
		}
	}
	c := &opsyncpb.Card{OutTrackId: r.OutTrackID, CardTemplateId: r.CardTemplateID, UserId: r.UserID, UserIdType: int32(r.UserIDType.n),
		CallbackRouteKey: r.CallbackRouteKey}
	if r.CardData != nil {
		if e := checkParams("cardData.cardParamMap", r.CardData.CardParamMap); e != nil {
			return nil, e
		}
		c.PublicData = r.CardData.CardParamMap
	}
	var e *Error
	if c.PrivateData, e = privateData(r.PrivateData); e != nil {
		return nil, e
	}
	if r.OpenDynamicDataConfig != nil {
		srcs := r.OpenDynamicDataConfig.Sources
		if len(srcs) > MaxSources {
			return nil, invalid(fmt.Sprintf("openDynamicDataConfig has more than %d sources", MaxSources))
		}
		seen := map[string]bool{}
		for i, s := range srcs {
			sc, e := source(i, s)
			if e != nil {
				return nil, e
			}
			if seen[sc.SourceId] {
				return nil, invalid("dynamicDataSourceId " + sc.SourceId + " is listed twice")
			}
			seen[sc.SourceId] = true
			c.DynamicSources = append(c.DynamicSources, sc)
		}
	}
	return c, nil
}

// ParseUpdate reads and checks an updateCard body.
func ParseUpdate(body []byte) (string, *opsyncpb.UpdateCard, *Error) {
	var r UpdateRequest
	if e := decode(body, &r); e != nil {
		return "", nil, e
	}
	if e := checkOutTrackID(r.OutTrackID); e != nil {
		return "", nil, e
	}
	u := &opsyncpb.UpdateCard{}
	if r.CardData != nil {
		if e := checkParams("cardData.cardParamMap", r.CardData.CardParamMap); e != nil {
			return "", nil, e
		}
		u.HasCardData, u.CardParamMap = true, r.CardData.CardParamMap
	}
	var e *Error
	if u.PrivateData, e = privateData(r.PrivateData); e != nil {
		return "", nil, e
	}
	if o := r.CardUpdateOptions; o != nil {
		u.MergeCardData, u.MergePrivateData = o.UpdateCardDataByKey, o.UpdatePrivateDataByKey
	}
	return r.OutTrackID, u, nil
}

// ParseDeliver reads and checks a deliverCard body.
func ParseDeliver(body []byte) (*DeliverRequest, []Space, *Error) {
	var r DeliverRequest
	if e := decode(body, &r); e != nil {
		return nil, nil, e
	}
	if e := checkOutTrackID(r.OutTrackID); e != nil {
		return nil, nil, e
	}
	spaces, e := r.Spaces()
	return &r, spaces, e
}

// ParseCreateAndDeliver reads and checks a createAndDeliver body: a
// createCard body with a deliverCard's openSpaceId and models.
func ParseCreateAndDeliver(body []byte) (*opsyncpb.Card, []Space, *Error) {
	var cr CreateRequest
	if e := decode(body, &cr); e != nil {
		return nil, nil, e
	}
	c, e := cr.card()
	if e != nil {
		return nil, nil, e
	}
	var dr DeliverRequest
	if e := decode(body, &dr); e != nil {
		return nil, nil, e
	}
	spaces, e := dr.Spaces()
	return c, spaces, e
}

// ParseRegister reads and checks a registerCallback body (the URL's
// target is checked by the service).
func ParseRegister(body []byte) (*RegisterRequest, *Error) {
	var r RegisterRequest
	if e := decode(body, &r); e != nil {
		return nil, e
	}
	switch {
	case r.CallbackRouteKey == "":
		return nil, invalid("callbackRouteKey is required")
	case len(r.CallbackRouteKey) > MaxID:
		return nil, invalid(fmt.Sprintf("callbackRouteKey is longer than %d bytes", MaxID))
	case r.CallbackURL == "":
		return nil, invalid("callbackUrl is required")
	case len(r.CallbackURL) > MaxURL:
		return nil, &Error{Code: CodeCallbackURLInvalid, Status: http.StatusBadRequest, Msg: fmt.Sprintf("callbackUrl is longer than %d bytes", MaxURL)}
	case len(r.APISecret) > MaxSecret:
		return nil, invalid(fmt.Sprintf("apiSecret is longer than %d bytes", MaxSecret))
	}
	return &r, nil
}
