package e2e

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/opsync/opsync/client"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Helpers of the card tests: the card API as a backend calls it (its
// instance's API key in x-acs-dingtalk-access-token), and Go clients
// viewing cards.

// cardAnswer is the card API's envelope, success or refusal.
type cardAnswer struct {
	Success   bool            `json:"success"`
	Result    json.RawMessage `json:"result"`
	Code      string          `json:"code"`
	Message   string          `json:"message"`
	RequestID string          `json:"requestid"`
}

// cardJSON is a card as GET answers it.
type cardJSON struct {
	OutTrackID     string `json:"outTrackId"`
	CardTemplateID string `json:"cardTemplateId"`
	CardData       struct {
		CardParamMap map[string]string `json:"cardParamMap"`
	} `json:"cardData"`
	PrivateData map[string]struct {
		CardParamMap map[string]string `json:"cardParamMap"`
	} `json:"privateData"`
	Recipients            []string `json:"recipients"`
	Delivered             []string `json:"delivered"`
	CallbackRouteKey      string   `json:"callbackRouteKey"`
	OpenDynamicDataConfig struct {
		Sources []struct {
			ID         string         `json:"dynamicDataSourceId"`
			PullConfig map[string]any `json:"pullConfig"`
		} `json:"dynamicDataSourceConfigs"`
	} `json:"openDynamicDataConfig"`
	Version uint64 `json:"version"`
}

// cardAPI calls the card API with the instance's API key.
func cardAPI(t *testing.T, base, instance, method, path string, body any) (int, cardAnswer) {
	t.Helper()
	ensureInstance(t, base, instance)
	return cardAPIWith(t, method, base+path, body, http.Header{"x-acs-dingtalk-access-token": {apiKey(t, base, instance)}})
}

// cardAPIWith calls the card API with exactly the headers hdr.
func cardAPIWith(t *testing.T, method, u string, body any, hdr http.Header) (int, cardAnswer) {
	t.Helper()
	var a cardAnswer
	st := callWith(t, method, u, body, &a, hdr)
	return st, a
}

// cardOK fails the test unless the answer is a success, and decodes its
// result into out (if not nil).
func cardOK(t *testing.T, st int, a cardAnswer, out any) {
	t.Helper()
	if st != http.StatusOK || !a.Success {
		t.Fatalf("card API: HTTP %d %s: %s", st, a.Code, a.Message)
	}
	if out != nil {
		if err := json.Unmarshal(a.Result, out); err != nil {
			t.Fatalf("result %s: %v", a.Result, err)
		}
	}
}

// createCard creates a card from body (outTrackId and cardTemplateId set
// unless body sets them).
func createCard(t *testing.T, base, instance, outTrackID string, body map[string]any) {
	t.Helper()
	b := map[string]any{"outTrackId": outTrackID, "cardTemplateId": "tpl.poll"}
	for k, v := range body {
		b[k] = v
	}
	st, a := cardAPI(t, base, instance, http.MethodPost, "/v1.0/card/instances", b)
	var id string
	cardOK(t, st, a, &id)
	if id != outTrackID {
		t.Fatalf("create answered %q, want %q", id, outTrackID)
	}
}

// updateCard sends an update and fails the test unless it succeeds.
func updateCard(t *testing.T, base, instance string, body map[string]any) {
	t.Helper()
	st, a := cardAPI(t, base, instance, http.MethodPut, "/v1.0/card/instances", body)
	var ok bool
	cardOK(t, st, a, &ok)
	if !ok {
		t.Fatalf("update answered %s", a.Result)
	}
}

// getCard is a card as GET answers it.
func getCard(t *testing.T, base, instance, outTrackID string) cardJSON {
	t.Helper()
	st, a := cardAPI(t, base, instance, http.MethodGet, "/v1.0/card/instances?outTrackId="+outTrackID, nil)
	var c cardJSON
	cardOK(t, st, a, &c)
	return c
}

// deliverResult is one space's result of a delivery.
type deliverResult struct {
	SpaceID   string `json:"spaceId"`
	SpaceType string `json:"spaceType"`
	Success   bool   `json:"success"`
	CarrierID string `json:"carrierId"`
	ErrorMsg  string `json:"errorMsg"`
}

// params is a cardParamMap object.
func params(kv ...string) map[string]any {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return map[string]any{"cardParamMap": m}
}

// cardViewer is a Go client of one user with cards open, collecting what
// it receives.
type cardViewer struct {
	*client.Client
	views   chan *opsyncpb.CardView
	dynamic chan *opsyncpb.CardDynamicData
	msgs    chan client.Message // OPSYNC_CARD deliveries
}

// connectCardViewer connects a client of user (device) that receives card
// deliveries (from the sync point its state file keeps) and opens cards.
func connectCardViewer(t *testing.T, base, instance, user, device, stateFile string, cards ...string) *cardViewer {
	t.Helper()
	ensureInstance(t, base, instance)
	up := make(chan struct{})
	var once sync.Once
	c, err := client.New(client.Options{Server: base, InstanceID: instance, DeviceID: device, StateFile: stateFile, MinBackoff: 20 * time.Millisecond,
		OnStateChange: func(connected bool) {
			if connected {
				once.Do(func() { close(up) })
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	v := &cardViewer{Client: c, views: make(chan *opsyncpb.CardView, 256), dynamic: make(chan *opsyncpb.CardDynamicData, 256),
		msgs: make(chan client.Message, 256)}
	c.OnCardView(func(cv *opsyncpb.CardView) { v.views <- cv })
	c.OnCardDynamic(func(d *opsyncpb.CardDynamicData) { v.dynamic <- d })
	if err := c.RegisterBiz(client.CardBizType, func(m client.Message) {
		v.msgs <- m
		c.ReportMsgReceived(m)
	}); err != nil {
		t.Fatal(err)
	}
	for _, id := range cards {
		if err := c.OpenCard(id); err != nil {
			t.Fatal(err)
		}
	}
	goOnline(t, c, user, up)
	return v
}

// nextView is the next card view the viewer received.
func (v *cardViewer) nextView(t *testing.T) *opsyncpb.CardView {
	t.Helper()
	select {
	case cv := <-v.views:
		return cv
	case <-time.After(20 * time.Second):
		t.Fatalf("viewer %s: no card view within 20 s", v.SyncDeviceID())
		return nil
	}
}

// nextDelivery is the next card delivery the viewer received.
func (v *cardViewer) nextDelivery(t *testing.T) (client.Message, *opsyncpb.CardDelivery) {
	t.Helper()
	select {
	case m := <-v.msgs:
		d, err := client.ParseCardDelivery(m)
		if err != nil {
			t.Fatal(err)
		}
		return m, d
	case <-time.After(20 * time.Second):
		t.Fatalf("viewer %s: no card delivery within 20 s", v.SyncDeviceID())
		return client.Message{}, nil
	}
}

// quiet checks that the viewer receives no view within d (after the
// frames that must come first were awaited).
func (v *cardViewer) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case cv := <-v.views:
		t.Fatalf("viewer %s got %+v, want nothing", v.SyncDeviceID(), cv)
	case m := <-v.msgs:
		t.Fatalf("viewer %s got delivery %d, want nothing", v.SyncDeviceID(), m.OplogID)
	case <-time.After(d):
	}
}
