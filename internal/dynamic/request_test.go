package dynamic

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestRequestEncode(t *testing.T) {
	r := Request{CorpID: "w_A", UserID: "u\"1", OutTrackID: "card-1", SourceIDs: []string{"s1", "s2"}}
	b := r.Encode()
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	content, ok := body["content"].(string)
	if !ok {
		t.Fatalf("content is %T, want a JSON string", body["content"])
	}
	if want := `{"dynamicDataSourceQueryRequests":[{"dynamicDataSourceId":"s1"},{"dynamicDataSourceId":"s2"}]}`; content != want {
		t.Errorf("content = %s, want %s", content, want)
	}
	for k, want := range map[string]string{"type": "dynamicDataCallback", "corpId": "w_A", "userId": "u\"1", "outTrackId": "card-1"} {
		if body[k] != want {
			t.Errorf("%s = %v, want %q", k, body[k], want)
		}
	}
	if len(body) != 5 {
		t.Errorf("body has %d fields, want 5: %s", len(body), b)
	}
	back, err := DecodeRequest(b)
	if err != nil || !reflect.DeepEqual(back, r) {
		t.Errorf("DecodeRequest = %+v, %v; want %+v", back, err, r)
	}
}
