package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// The service's official Node SDK (@alicloud/dingtalk 2.2.27, locked in
// e2e/sdk/card) works against opsync with only its endpoint changed: it
// gets an access token with the instance's app key and secret, registers
// a callback, creates, updates and delivers cards and creates-and-delivers
// one, and reads opsync's refusals as the service's (e2e/sdk/card/test.mjs
// asserts each answer). Then this test reads every card back through
// opsync's GET route and checks it holds what the SDK sent, and that a
// delivered user finds the card in its stream. Skipped without node
// unless OPSYNC_REQUIRE_NODE=1.
func TestCardOfficialNodeSDK(t *testing.T) {
	nodeBin := nodeSDK(t, "card", "@alicloud/dingtalk")
	// The callback is only registered here, never called (no viewer opens
	// a card): a loopback URL needs --card-callback-private.
	cb := httptest.NewServer(http.NotFoundHandler())
	defer cb.Close()
	srv := startServer(t, t.TempDir(), "--card-callback-private")
	const inst = "ws_CARDSDK"
	ensureInstance(t, srv.URL, inst)
	key := apiKey(t, srv.URL, inst)
	u, _ := url.Parse(srv.URL)

	cmd := exec.Command(nodeBin, "test.mjs")
	cmd.Dir, _ = filepath.Abs(filepath.Join("sdk", "card"))
	// The app key is the instance id, the app secret its API key.
	cmd.Env = append(os.Environ(), "OPSYNC_SERVER="+u.Host, "APP_KEY="+inst, "APP_SECRET="+key,
		"CALLBACK_URL="+cb.URL+"/card", "RUN=r1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("SDK script: %v\n%s", err, stderr.String())
	}
	t.Logf("SDK script:\n%s", stderr.String())
	var want sdkExpect
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &want); err != nil || len(want.Cards) != 3 {
		t.Fatalf("the SDK script's last line %q: %v", lines[len(lines)-1], err)
	}

	// Every card holds what the SDK wrote, as sent.
	for id, w := range want.Cards {
		st, got := sdkGetCard(t, srv.URL, key, id)
		if st != http.StatusOK || !got.Success {
			t.Fatalf("GET %s: HTTP %d %+v", id, st, got)
		}
		c := got.Result
		var sources []string
		for _, s := range c.OpenDynamicDataConfig.DynamicDataSourceConfigs {
			sources = append(sources, s.DynamicDataSourceID)
		}
		private := map[string]map[string]string{}
		for user, p := range c.PrivateData {
			private[user] = p.CardParamMap
		}
		recipients := slices.Sorted(slices.Values(c.Recipients))
		switch {
		case c.OutTrackID != id || c.CardTemplateID != w.CardTemplateID || c.CallbackRouteKey != w.CallbackRouteKey:
			t.Errorf("%s: id %q template %q route key %q, want %q %q", id, c.OutTrackID, c.CardTemplateID, c.CallbackRouteKey, w.CardTemplateID, w.CallbackRouteKey)
		case !sdkEqualJSON(c.CardData.CardParamMap, w.CardParamMap):
			t.Errorf("%s: public data %v, want %v", id, c.CardData.CardParamMap, w.CardParamMap)
		case !sdkEqualJSON(private, w.PrivateData):
			t.Errorf("%s: private data %v, want %v", id, private, w.PrivateData)
		case !slices.Equal(recipients, w.Recipients):
			t.Errorf("%s: recipients %v, want %v", id, recipients, w.Recipients)
		case !slices.Equal(sources, w.Sources):
			t.Errorf("%s: dynamic sources %v, want %v", id, sources, w.Sources)
		}
	}
	// What the SDK saw refused was not stored.
	for _, id := range want.Absent {
		if st, got := sdkGetCard(t, srv.URL, key, id); st != http.StatusBadRequest || got.Code != "param.cardNotExist" {
			t.Errorf("GET %s (refused): HTTP %d %+v", id, st, got)
		}
	}

	// A user the SDK delivered a card to finds it in its stream.
	for user, ids := range want.Deliveries {
		if !strings.HasPrefix(user, "robot-") && !strings.HasPrefix(user, "box-") {
			continue
		}
		c := connectClient(t, srv.URL, inst, clientSpec{user: user, device: "dev-" + user, biz: []string{"OPSYNC_CARD"}})
		m := c.next(t)
		var d opsyncpb.CardDelivery
		if err := proto.Unmarshal(m.BinaryPayload, &d); err != nil || !m.IsBinary || d.OutTrackId != ids[0] {
			t.Errorf("%s's first OPSYNC_CARD message %+v (%v): %+v", user, m, err, &d)
		}
	}
}

// sdkExpect is the SDK script's last line: what each card must hold.
type sdkExpect struct {
	Cards map[string]struct {
		CardTemplateID   string                       `json:"cardTemplateId"`
		CardParamMap     map[string]string            `json:"cardParamMap"`
		PrivateData      map[string]map[string]string `json:"privateData"`
		Recipients       []string                     `json:"recipients"`
		Sources          []string                     `json:"sources"`
		CallbackRouteKey string                       `json:"callbackRouteKey"`
	} `json:"cards"`
	Absent     []string            `json:"absent"`
	Deliveries map[string][]string `json:"deliveries"`
}

// sdkCardAnswer is the answer of GET /v1.0/card/instances.
type sdkCardAnswer struct {
	Success bool   `json:"success"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Result  struct {
		OutTrackID       string `json:"outTrackId"`
		CardTemplateID   string `json:"cardTemplateId"`
		CallbackRouteKey string `json:"callbackRouteKey"`
		CardData         struct {
			CardParamMap map[string]string `json:"cardParamMap"`
		} `json:"cardData"`
		PrivateData map[string]struct {
			CardParamMap map[string]string `json:"cardParamMap"`
		} `json:"privateData"`
		Recipients            []string `json:"recipients"`
		OpenDynamicDataConfig struct {
			DynamicDataSourceConfigs []struct {
				DynamicDataSourceID string `json:"dynamicDataSourceId"`
			} `json:"dynamicDataSourceConfigs"`
		} `json:"openDynamicDataConfig"`
		Version uint64 `json:"version"`
	} `json:"result"`
}

func sdkGetCard(t *testing.T, base, key, outTrackID string) (int, sdkCardAnswer) {
	t.Helper()
	var ans sdkCardAnswer
	st := callWith(t, http.MethodGet, base+"/v1.0/card/instances?outTrackId="+url.QueryEscape(outTrackID), nil, &ans,
		http.Header{"X-Opsync-Api-Key": {key}})
	return st, ans
}

// sdkEqualJSON compares two values by their JSON (nil and empty maps alike).
func sdkEqualJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	norm := func(j []byte) string {
		if s := string(j); s != "null" {
			return s
		}
		return "{}"
	}
	return norm(ja) == norm(jb)
}

// nodeSDK returns the node binary and makes sure e2e/sdk/<name> has its
// locked packages (npm ci); it skips the test without node, unless
// OPSYNC_REQUIRE_NODE=1.
func nodeSDK(t *testing.T, name, pkg string) string {
	t.Helper()
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("OPSYNC_REQUIRE_NODE") == "1" {
			t.Fatal("node not found and OPSYNC_REQUIRE_NODE=1")
		}
		t.Skip("node not found: the official SDK test needs Node 18+ and npm (set OPSYNC_REQUIRE_NODE=1 to fail instead)")
	}
	dir, _ := filepath.Abs(filepath.Join("sdk", name))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(pkg))); err != nil {
		if _, err := exec.LookPath("npm"); err != nil {
			if os.Getenv("OPSYNC_REQUIRE_NODE") == "1" {
				t.Fatal("npm not found and OPSYNC_REQUIRE_NODE=1")
			}
			t.Skip("npm not found: the official SDK test installs its packages with npm ci")
		}
		npm := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--prefer-offline")
		npm.Dir = dir
		if out, err := npm.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	return nodeBin
}
