package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/opsync/opsync/internal/auth"
)

// creds are what a run authenticates with: the admin token on the admin
// API (/api/v1/) and, per instance, the push API key on the push APIs
// (/webapi/sync/); the block API (/open-apis/) and the card API
// (/v1.0/card/) take the key of the run's instance (a key names its
// instance there). One Env's nodes (a spawned
// node and its restarts) share them.
type creds struct {
	adminToken string
	instance   string // the run's (Env.Instance)
	mu         sync.Mutex
	keys       map[string]string // instance -> API key
}

// creds returns the Env's credentials, made on first use: the admin token
// is Env.AdminToken, or for a spawned node a generated one; Env.APIKey,
// if set, is the key of Env.Instance.
func (e *Env) creds() *creds {
	e.credsOnce.Do(func() {
		if e.AdminToken == "" && e.Spawn {
			e.AdminToken = auth.NewKey()
		}
		e.cr = &creds{adminToken: e.AdminToken, instance: e.Instance, keys: map[string]string{}}
		if e.APIKey != "" {
			e.cr.keys[e.Instance] = e.APIKey
		}
	})
	return e.cr
}

func (c *creds) key(instance string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.keys[instance]
	return k, ok
}

// authorize adds the credentials a request's path needs.
func (a *api) authorize(req *http.Request) {
	if a.creds == nil {
		return
	}
	switch p := req.URL.Path; {
	case strings.HasPrefix(p, "/api/v1/"):
		if a.creds.adminToken != "" {
			req.Header.Set("Authorization", "Bearer "+a.creds.adminToken)
		}
	case strings.HasPrefix(p, "/webapi/sync/"):
		if k, _ := a.creds.key(req.URL.Query().Get("instanceId")); k != "" {
			req.Header.Set("X-Opsync-Api-Key", k)
		}
	case strings.HasPrefix(p, "/open-apis/"):
		if k, _ := a.creds.key(a.creds.instance); k != "" {
			req.Header.Set("Authorization", "Bearer "+k)
		}
	case strings.HasPrefix(p, "/v1.0/card/"):
		// The card API takes the instance's key where the service's SDK
		// sends its access token.
		if k, _ := a.creds.key(a.creds.instance); k != "" {
			req.Header.Set("x-acs-dingtalk-access-token", k)
		}
	}
}

// ensureInstance creates instance unless it exists, and keeps its push
// API key (unless one was given).
func (a *api) ensureInstance(ctx context.Context, instance string) error {
	if a.creds == nil {
		return nil
	}
	if _, known := a.creds.key(instance); known {
		return nil
	}
	var ans struct {
		Instance struct {
			APIKey string `json:"apiKey"`
		} `json:"instance"`
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body, _ := json.Marshal(map[string]string{"instanceId": instance})
	st, err := a.do(ctx, http.MethodPost, "/api/v1/instances", body, &ans)
	switch {
	case err != nil:
		return err
	case st == http.StatusConflict:
		// The admin API shows a key only when it makes it.
		return fmt.Errorf("bench: instance %s exists and its API key is not known: give it with --api-key (env OPSYNC_API_KEY), or name a new instance with --instance", instance)
	case st == http.StatusUnauthorized:
		return fmt.Errorf("bench: the admin API refused the admin token: give the node's with --admin-token or OPSYNC_ADMIN_TOKEN")
	case st/100 != 2:
		return fmt.Errorf("bench: instance %s: HTTP %d %s %s", instance, st, ans.Error.Code, ans.Error.Message)
	}
	a.creds.mu.Lock()
	a.creds.keys[instance] = ans.Instance.APIKey
	a.creds.mu.Unlock()
	return nil
}
