package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Helpers of the dynamic-data tests: a callback server playing the card's
// owner, as the service's callbacks work.

// dynRequest is one callback request the server received.
type dynRequest struct {
	At         time.Time
	Path       string
	CorpID     string
	UserID     string
	OutTrackID string
	Sources    []string
}

// dynCallback is the card owner's callback server: it checks every
// request's signature with its apiSecret (a wrong one fails the test),
// records the request and answers each source with data naming the user
// (and the test's sentinel), or never answers on the path /hang.
type dynCallback struct {
	t        *testing.T
	secret   string
	sentinel string
	srv      *httptest.Server
	end      chan struct{}

	mu   sync.Mutex
	reqs []dynRequest
	seen chan struct{} // signalled on each request
}

func newDynCallback(t *testing.T, secret, sentinel string) *dynCallback {
	cb := &dynCallback{t: t, secret: secret, sentinel: sentinel, end: make(chan struct{}), seen: make(chan struct{}, 1)}
	cb.srv = httptest.NewServer(http.HandlerFunc(cb.serve))
	t.Cleanup(func() { close(cb.end); cb.srv.Close() })
	return cb
}

// signed checks the request's signature the way a card's owner does:
// Base64(HMAC-SHA256(apiSecret, the timestamp header's decimal text)), the
// timestamp within a minute of now.
func (cb *dynCallback) signed(r *http.Request) bool {
	ts := r.Header.Get("x-ddpaas-signature-timestamp")
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.UnixMilli(ms)).Abs() > time.Minute {
		return false
	}
	m := hmac.New(sha256.New, []byte(cb.secret))
	m.Write([]byte(ts))
	return hmac.Equal([]byte(base64.StdEncoding.EncodeToString(m.Sum(nil))), []byte(r.Header.Get("x-ddpaas-signature")))
}

func (cb *dynCallback) serve(w http.ResponseWriter, r *http.Request) {
	if !cb.signed(r) {
		cb.t.Errorf("callback request with a bad signature: timestamp %q signature %q", r.Header.Get("x-ddpaas-signature-timestamp"), r.Header.Get("x-ddpaas-signature"))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var body struct {
		Type, CorpID, UserID, OutTrackID, Content string
	}
	var content struct {
		Requests []struct {
			ID string `json:"dynamicDataSourceId"`
		} `json:"dynamicDataSourceQueryRequests"`
	}
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &body); err != nil || body.Type != "dynamicDataCallback" || json.Unmarshal([]byte(body.Content), &content) != nil {
		cb.t.Errorf("callback request %s: not the service's shape", b)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	req := dynRequest{At: time.Now(), Path: r.URL.Path, CorpID: body.CorpID, UserID: body.UserID, OutTrackID: body.OutTrackID}
	for _, q := range content.Requests {
		req.Sources = append(req.Sources, q.ID)
	}
	cb.mu.Lock()
	cb.reqs = append(cb.reqs, req)
	cb.mu.Unlock()
	select {
	case cb.seen <- struct{}{}:
	default:
	}
	if r.URL.Path == "/hang" {
		select {
		case <-r.Context().Done():
		case <-cb.end:
		}
		return
	}
	var items []map[string]string
	for _, id := range req.Sources {
		items = append(items, map[string]string{"dynamicDataSourceId": id, "dynamicDataValueType": "OBJECT",
			"data": dynData(req.UserID, id, cb.sentinel)})
	}
	json.NewEncoder(w).Encode(map[string]any{"dataSourceQueryResponses": items, "requestId": "x"})
}

// dynData is the data the callback answers for user's source.
func dynData(user, source, sentinel string) string {
	return fmt.Sprintf(`{"user":%q,"source":%q,"secret":"%s-%s"}`, user, source, sentinel, user)
}

// requests is what the callback has received, in order.
func (cb *dynCallback) requests() []dynRequest {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return slices.Clone(cb.reqs)
}

// await is the first request from index from on that match accepts,
// within d, and its index.
func (cb *dynCallback) await(from int, d time.Duration, match func(dynRequest) bool) (dynRequest, int) {
	cb.t.Helper()
	deadline := time.After(d)
	for {
		reqs := cb.requests()
		for i := from; i < len(reqs); i++ {
			if match(reqs[i]) {
				return reqs[i], i
			}
		}
		select {
		case <-cb.seen:
		case <-deadline:
			cb.t.Fatalf("no matching callback request within %s; got %+v", d, reqs)
			return dynRequest{}, 0
		}
	}
}

// register registers the callback under routeKey with the server's secret.
func (cb *dynCallback) register(t *testing.T, base, instance, routeKey, path string) {
	t.Helper()
	st, a := cardAPI(t, base, instance, http.MethodPost, "/v1.0/card/callbacks/register",
		map[string]any{"callbackRouteKey": routeKey, "callbackUrl": cb.srv.URL + path, "apiSecret": cb.secret})
	cardOK(t, st, a, nil)
}

// dynSources is an openDynamicDataConfig: ONCE for each id of once,
// INTERVAL of every seconds for each of interval.
func dynSources(once []string, every int, interval ...string) map[string]any {
	var cfgs []map[string]any
	for _, id := range once {
		cfgs = append(cfgs, map[string]any{"dynamicDataSourceId": id, "pullConfig": map[string]any{"pullStrategy": "ONCE"}})
	}
	for _, id := range interval {
		cfgs = append(cfgs, map[string]any{"dynamicDataSourceId": id,
			"pullConfig": map[string]any{"pullStrategy": "INTERVAL", "timeUnit": "SECONDS", "interval": every}})
	}
	return map[string]any{"dynamicDataSourceConfigs": cfgs}
}

// nextDynamic is the next dynamic-data frame the viewer received.
func (v *cardViewer) nextDynamic(t *testing.T, d time.Duration) *opsyncpb.CardDynamicData {
	t.Helper()
	select {
	case f := <-v.dynamic:
		return f
	case <-time.After(d):
		t.Fatalf("viewer %s: no dynamic data within %s", v.SyncDeviceID(), d)
		return nil
	}
}

// sameSources reports whether a request asked for exactly want, in order.
func sameSources(r dynRequest, want ...string) bool { return slices.Equal(r.Sources, want) }

// find is the first request from index from on that match accepts,
// if the callback has one (nil: none); it awaits nothing, the caller has
// awaited the event after which none may have come.
func (cb *dynCallback) find(from int, match func(dynRequest) bool) (*dynRequest, int) {
	reqs := cb.requests()
	for i := from; i < len(reqs); i++ {
		if match(reqs[i]) {
			return &reqs[i], i
		}
	}
	return nil, 0
}
