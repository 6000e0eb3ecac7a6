package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// cardAnswer is the card API's envelope: result on success, code and
// message on a refusal.
type cardAnswer struct {
	Success bool            `json:"success"`
	Result  json.RawMessage `json:"result"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
}

// cardParams is the API's {cardParamMap} object.
type cardParams struct {
	CardParamMap map[string]string `json:"cardParamMap"`
}

// cardCall sends body to the card API and fails on anything but success.
func (a *api) cardCall(ctx context.Context, method, path string, body any) (json.RawMessage, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	var ans cardAnswer
	st, err := a.do(ctx, method, path, raw, &ans)
	switch {
	case err != nil:
		return nil, err
	case st != http.StatusOK || !ans.Success:
		return nil, fmt.Errorf("%s %s: HTTP %d %s %s", method, path, st, ans.Code, ans.Message)
	}
	return ans.Result, nil
}

// createCard creates a card with public data and, if sources is not
// empty, dynamic sources served by the callback of routeKey.
func (a *api) createCard(ctx context.Context, outTrackID, creator string, public map[string]string, routeKey string, sources []map[string]any) error {
	body := map[string]any{
		"outTrackId": outTrackID, "cardTemplateId": "bench", "userId": creator, "userIdType": 1,
		"cardData": cardParams{public},
	}
	if len(sources) > 0 {
		body["callbackRouteKey"] = routeKey
		body["openDynamicDataConfig"] = map[string]any{"dynamicDataSourceConfigs": sources}
	}
	_, err := a.cardCall(ctx, http.MethodPost, "/v1.0/card/instances", body)
	return err
}

// updateCard merges public (if not nil) and private data into a card by key.
func (a *api) updateCard(ctx context.Context, outTrackID string, public map[string]string, private map[string]cardParams) error {
	body := map[string]any{"outTrackId": outTrackID,
		"cardUpdateOptions": map[string]bool{"updateCardDataByKey": true, "updatePrivateDataByKey": true}}
	if public != nil {
		body["cardData"] = cardParams{public}
	}
	if private != nil {
		body["privateData"] = private
	}
	_, err := a.cardCall(ctx, http.MethodPut, "/v1.0/card/instances", body)
	return err
}

// registerCardCallback registers (or replaces) the callback of routeKey.
func (a *api) registerCardCallback(ctx context.Context, routeKey, url, secret string) error {
	_, err := a.cardCall(ctx, http.MethodPost, "/v1.0/card/callbacks/register", map[string]any{
		"callbackRouteKey": routeKey, "callbackUrl": url, "apiSecret": secret, "forceUpdate": true})
	return err
}
