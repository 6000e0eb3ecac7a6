package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// The card API: every route answers the service's shape; each bad request
// gets its code, and nothing is stored (a GET shows it).
func TestCardAPIShapesAndErrors(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_CARDAPI"
	ensureInstance(t, srv.URL, inst)
	base := srv.URL

	createCard(t, base, inst, "card-1", map[string]any{"userId": "alice", "userIdType": 1,
		"cardData":         params("title", "poll", "votes", "0"),
		"privateData":      map[string]any{"bob": params("mine", "b")},
		"callbackRouteKey": "rk1",
		"openDynamicDataConfig": map[string]any{"dynamicDataSourceConfigs": []any{
			map[string]any{"dynamicDataSourceId": "price", "pullConfig": map[string]any{"pullStrategy": "INTERVAL", "interval": "30", "timeUnit": "SECONDS"}},
			map[string]any{"dynamicDataSourceId": "quota", "pullConfig": map[string]any{"pullStrategy": "ONCE"}},
		}}})
	c := getCard(t, base, inst, "card-1")
	if c.Version != 1 || c.CardData.CardParamMap["title"] != "poll" || c.PrivateData["bob"].CardParamMap["mine"] != "b" ||
		strings.Join(c.Recipients, ",") != "alice,bob" || c.CallbackRouteKey != "rk1" || len(c.OpenDynamicDataConfig.Sources) != 2 ||
		c.OpenDynamicDataConfig.Sources[0].PullConfig["interval"] != float64(30) {
		t.Fatalf("GET after create: %+v", c)
	}

	updateCard(t, base, inst, map[string]any{"outTrackId": "card-1", "cardData": params("votes", "1"),
		"cardUpdateOptions": map[string]any{"updateCardDataByKey": true}})
	if c := getCard(t, base, inst, "card-1"); c.Version != 2 || c.CardData.CardParamMap["votes"] != "1" || c.CardData.CardParamMap["title"] != "poll" {
		t.Fatalf("GET after a merge: %+v", c)
	}

	var reg struct {
		APISecret   string `json:"apiSecret"`
		CallbackURL string `json:"callbackUrl"`
	}
	st, a := cardAPI(t, base, inst, http.MethodPost, "/v1.0/card/callbacks/register", map[string]any{"callbackRouteKey": "rk1", "callbackUrl": "https://203.0.113.10/cb"})
	cardOK(t, st, a, &reg)
	if len(reg.APISecret) < 16 || reg.CallbackURL != "https://203.0.113.10/cb" {
		t.Fatalf("register answered %+v: an absent apiSecret must be generated", reg)
	}
	st, a = cardAPI(t, base, inst, http.MethodPost, "/v1.0/card/callbacks/register",
		map[string]any{"callbackRouteKey": "rk1", "callbackUrl": "https://198.51.100.7/cb", "apiSecret": "mine", "forceUpdate": true})
	cardOK(t, st, a, &reg)
	if reg.APISecret != "mine" {
		t.Fatalf("forceUpdate answered %+v", reg)
	}

	var results []deliverResult
	st, a = cardAPI(t, base, inst, http.MethodPost, "/v1.0/card/instances/deliver", map[string]any{"outTrackId": "card-1",
		"openSpaceId": "dtv1.card//im_robot.carol;im_group.cid1;IM_GROUP.cid2", "imGroupOpenDeliverModel": map[string]any{}})
	cardOK(t, st, a, &results)
	if len(results) != 3 || !results[0].Success || results[0].SpaceType != "IM_ROBOT" || results[0].SpaceID != "carol" || results[0].CarrierID == "" ||
		results[1].Success || results[1].ErrorMsg == "" || results[2].Success {
		t.Fatalf("deliver answered %+v", results)
	}
	var cd struct {
		OutTrackID     string          `json:"outTrackId"`
		DeliverResults []deliverResult `json:"deliverResults"`
	}
	st, a = cardAPI(t, base, inst, http.MethodPost, "/v1.0/card/instances/createAndDeliver", map[string]any{"outTrackId": "card-2",
		"cardTemplateId": "tpl", "cardData": params("a", "1"), "openSpaceId": "dtv1.card//one_box.box1",
		"topOpenDeliverModel": map[string]any{"userIds": []string{"dave", "erin"}}})
	cardOK(t, st, a, &cd)
	if cd.OutTrackID != "card-2" || len(cd.DeliverResults) != 1 || !cd.DeliverResults[0].Success || cd.DeliverResults[0].SpaceType != "ONE_BOX" {
		t.Fatalf("createAndDeliver answered %+v", cd)
	}
	if c := getCard(t, base, inst, "card-2"); strings.Join(c.Delivered, ",") != "dave,erin" {
		t.Fatalf("card-2 after createAndDeliver: %+v", c)
	}
	if c := getCard(t, base, inst, "card-1"); strings.Join(c.Recipients, ",") != "alice,bob,carol" {
		t.Fatalf("card-1 after a delivery: %+v", c)
	}

	// The service's token: appKey = the instance id, appSecret = its API
	// key; the token authenticates the card API.
	var tok struct {
		AccessToken string `json:"accessToken"`
		ExpireIn    int    `json:"expireIn"`
	}
	if st := callWith(t, http.MethodPost, base+"/v1.0/oauth2/accessToken", map[string]any{"appKey": inst, "appSecret": apiKey(t, base, inst)}, &tok, http.Header{}); st != 200 || tok.AccessToken == "" || tok.ExpireIn != 7200 {
		t.Fatalf("accessToken: HTTP %d %+v", st, tok)
	}
	st, a = cardAPIWith(t, http.MethodGet, base+"/v1.0/card/instances?outTrackId=card-1", nil, http.Header{"x-acs-dingtalk-access-token": {tok.AccessToken}})
	cardOK(t, st, a, nil)
	// A block tenant token of the same instance is signed for another
	// purpose: the card API refuses it.
	var blockTok struct {
		Token string `json:"tenant_access_token"`
	}
	callWith(t, http.MethodPost, base+"/open-apis/auth/v3/tenant_access_token/internal", map[string]any{"app_id": inst, "app_secret": apiKey(t, base, inst)}, &blockTok, http.Header{})
	st, a = cardAPIWith(t, http.MethodGet, base+"/v1.0/card/instances?outTrackId=card-1", nil, http.Header{"x-acs-dingtalk-access-token": {blockTok.Token}})
	if blockTok.Token == "" || st != http.StatusUnauthorized || a.Code != "InvalidAuthentication" {
		t.Fatalf("a block tenant token on the card API: HTTP %d %+v", st, a)
	}
	st, a = cardAPIWith(t, http.MethodPost, base+"/v1.0/oauth2/accessToken", map[string]any{"appKey": inst, "appSecret": "wrong"}, http.Header{})
	if st != 400 || a.Code != "InvalidAuthentication" {
		t.Fatalf("accessToken with a wrong secret: HTTP %d %+v", st, a)
	}

	interval := func(n any, unit string) map[string]any {
		return map[string]any{"outTrackId": "card-bad", "cardTemplateId": "t", "openDynamicDataConfig": map[string]any{"dynamicDataSourceConfigs": []any{
			map[string]any{"dynamicDataSourceId": "s", "pullConfig": map[string]any{"pullStrategy": "INTERVAL", "interval": n, "timeUnit": unit}}}}}
	}
	cases := []struct {
		name         string
		method, path string
		body         any
		hdr          http.Header
		status       int
		code         string
	}{
		{"duplicate outTrackId", "POST", "/v1.0/card/instances", map[string]any{"outTrackId": "card-1", "cardTemplateId": "t", "cardData": params("title", "other")}, nil, 400, "param.cardAlreadyExist"},
		{"interval below 6 s", "POST", "/v1.0/card/instances", interval(5, "SECONDS"), nil, 400, "param.dynamicDataPullIntervalInvalid"},
		{"interval as a string below 6 s", "POST", "/v1.0/card/instances", interval("3", ""), nil, 400, "param.dynamicDataPullIntervalInvalid"},
		{"interval not a number", "POST", "/v1.0/card/instances", interval("soon", "SECONDS"), nil, 400, "param.invalid"},
		{"no cardTemplateId", "POST", "/v1.0/card/instances", map[string]any{"outTrackId": "card-bad"}, nil, 400, "param.invalid"},
		{"cardParamMap of numbers", "POST", "/v1.0/card/instances", map[string]any{"outTrackId": "card-bad", "cardTemplateId": "t", "cardData": map[string]any{"cardParamMap": map[string]int{"a": 1}}}, nil, 400, "param.invalid"},
		{"malformed JSON", "POST", "/v1.0/card/instances", `{"outTrackId":"card-bad",`, nil, 400, "param.invalid"},
		{"a JSON array", "POST", "/v1.0/card/instances", `[]`, nil, 400, "param.invalid"},
		{"update of an unknown card", "PUT", "/v1.0/card/instances", map[string]any{"outTrackId": "card-bad", "cardData": params("a", "b")}, nil, 400, "param.cardNotExist"},
		{"get of an unknown card", "GET", "/v1.0/card/instances?outTrackId=card-bad", nil, nil, 400, "param.cardNotExist"},
		{"delivery of an unknown card", "POST", "/v1.0/card/instances/deliver", map[string]any{"outTrackId": "card-bad", "openSpaceId": "dtv1.card//im_robot.u"}, nil, 400, "param.cardNotExist"},
		{"openSpaceId malformed", "POST", "/v1.0/card/instances/deliver", map[string]any{"outTrackId": "card-1", "openSpaceId": "im_robot.u"}, nil, 400, "param.invalid"},
		{"register again without forceUpdate", "POST", "/v1.0/card/callbacks/register", map[string]any{"callbackRouteKey": "rk1", "callbackUrl": "https://203.0.113.11/"}, nil, 400, "param.callbackRouteKeyExist"},
		{"callbackUrl not http", "POST", "/v1.0/card/callbacks/register", map[string]any{"callbackRouteKey": "rk2", "callbackUrl": "ftp://x.example.com/"}, nil, 400, "param.callbackUrlInvalid"},
		{"callbackUrl loopback", "POST", "/v1.0/card/callbacks/register", map[string]any{"callbackRouteKey": "rk2", "callbackUrl": "http://127.0.0.1:9/cb"}, nil, 400, "param.callbackUrlInvalid"},
		{"callbackUrl private", "POST", "/v1.0/card/callbacks/register", map[string]any{"callbackRouteKey": "rk2", "callbackUrl": "http://10.1.2.3/cb"}, nil, 400, "param.callbackUrlInvalid"},
		{"bad token", "GET", "/v1.0/card/instances?outTrackId=card-1", nil, http.Header{"x-acs-dingtalk-access-token": {"not-a-key"}}, 401, "InvalidAuthentication"},
		{"no token", "GET", "/v1.0/card/instances?outTrackId=card-1", nil, http.Header{}, 401, "InvalidAuthentication"},
		{"body over the limit", "POST", "/v1.0/card/instances", map[string]any{"outTrackId": "card-bad", "cardTemplateId": "t", "cardData": params("a", strings.Repeat("x", 300<<10))}, nil, 413, "param.invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var st int
			var a cardAnswer
			if c.hdr != nil {
				st, a = cardAPIWith(t, c.method, base+c.path, c.body, c.hdr)
			} else {
				st, a = cardAPI(t, base, inst, c.method, c.path, c.body)
			}
			if st != c.status || a.Success || a.Code != c.code || a.Message == "" || a.RequestID == "" {
				t.Fatalf("HTTP %d %+v, want HTTP %d code %s", st, a, c.status, c.code)
			}
		})
	}
	// Nothing of the refused requests was stored.
	if c := getCard(t, base, inst, "card-1"); c.Version != 2 || c.CardData.CardParamMap["title"] != "poll" {
		t.Fatalf("card-1 after the refused requests: %+v", c)
	}
	if st, a := cardAPI(t, base, inst, http.MethodGet, "/v1.0/card/instances?outTrackId=card-bad", nil); st != 400 || a.Code != "param.cardNotExist" {
		t.Fatalf("card-bad was stored: HTTP %d %+v", st, a)
	}
}
