package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/opsync/opsync/client"
	"github.com/opsync/opsync/proto/opsyncpb"
)

const cardSynopsis = `opsync card <create|update|deliver|get|register-callback|watch> --server URL [flags]

  create             create --card (its outTrackId) of --template, public data --param k=v...,
                     private data --private user:k=v..., creator --user, dynamic sources
                     --source ID (ONCE) or --source ID:SECONDS (INTERVAL, at least 6) pulled
                     from the callback of --route-key
  update             update --card: --param k=v... (public) and --private user:k=v...;
                     --merge merges both by key (else each replaces what it names)
  deliver            deliver --card to --space (dtv1.card//<type>.<id>;...); --recipient U...
                     are the users of im_group, one_box and top spaces; prints per-space results
  get                a card's data, private data, recipients, dynamic config and version
  register-callback  register --route-key's --url (and --secret; generated if absent;
                     --force replaces an existing registration)
  watch              open --card as a client of --instance signed in as --user and print each
                     view and dynamic data frame as a JSON line

  --body JSON sends that body (the service's request shape) instead of the flags' to create,
  update, deliver and register-callback. Calls authenticate with the instance's API key
  (--api-key, env OPSYNC_API_KEY), which also names the instance.`

func runCard(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("card", cardSynopsis, stdout, stderr)
	verb, rest, code := splitVerb(fs, args, stdout)
	if code >= 0 {
		return code
	}
	server := serverFlag(fs)
	cardID := fs.String("card", "", "the card's outTrackId")
	template := fs.String("template", "", "create: cardTemplateId")
	user := fs.String("user", "", "create: the creator's userId; watch: the user to sign in as")
	routeKey := fs.String("route-key", "", "create, register-callback: callbackRouteKey")
	cbURL := fs.String("url", "", "register-callback: callbackUrl")
	secret := fs.String("secret", "", "register-callback: apiSecret (generated if absent)")
	force := fs.Bool("force", false, "register-callback: replace an existing registration (forceUpdate)")
	merge := fs.Bool("merge", false, "update: merge public and private data by key")
	space := fs.String("space", "", "deliver: openSpaceId")
	body := fs.String("body", "", "a JSON request body to send instead of the flags'")
	instance := fs.String("instance", "", "watch: instance id")
	count := fs.Int("count", 0, "watch: exit after N lines (0: until interrupted)")
	var params, private, sources, recipients multiFlag
	fs.Var(&params, "param", "create, update: a public cardParamMap entry k=v (repeatable)")
	fs.Var(&private, "private", "create, update: a private entry user:k=v (repeatable)")
	fs.Var(&sources, "source", "create: a dynamic source ID (ONCE) or ID:SECONDS (INTERVAL) (repeatable)")
	fs.Var(&recipients, "recipient", "deliver: a user of the group/one_box/top spaces (repeatable)")
	apiKeyFlag := newSecretFlag(fs, "api-key", "OPSYNC_API_KEY", "the instance's API `key` (env OPSYNC_API_KEY)")
	if code := parseFlags(fs, rest, stdout); code >= 0 {
		return code
	}
	base := trimURL(*server) + "/v1.0/card"
	key := func() reqOption { return withAPIKey(apiKeyFlag.get()) }
	send := func(what, method, path string, flagsBody func() (map[string]any, error)) int {
		var b any
		if *body != "" {
			var raw json.RawMessage
			if err := json.Unmarshal([]byte(*body), &raw); err != nil {
				return usageError(stderr, fs, "--body is not JSON: %v", err)
			}
			b = raw
		} else {
			m, err := flagsBody()
			if err != nil {
				return usageError(stderr, fs, "%v", err)
			}
			b = m
		}
		return callAndPrint(stdout, stderr, what, method, base+path, b, key())
	}
	switch verb {
	case "create":
		return send("card create", http.MethodPost, "/instances", func() (map[string]any, error) {
			if *cardID == "" || *template == "" {
				return nil, fmt.Errorf("create needs --card and --template")
			}
			m := map[string]any{"outTrackId": *cardID, "cardTemplateId": *template, "userId": *user, "callbackRouteKey": *routeKey}
			pub, priv, err := cardParams(params, private)
			if err != nil {
				return nil, err
			}
			m["cardData"], m["privateData"] = map[string]any{"cardParamMap": pub}, priv
			var cfgs []any
			for _, s := range sources {
				id, secs, interval := strings.Cut(s, ":")
				pc := map[string]any{"pullStrategy": "ONCE"}
				if interval {
					n, err := strconv.Atoi(secs)
					if err != nil {
						return nil, fmt.Errorf("--source %s: the interval is a number of seconds", s)
					}
					pc = map[string]any{"pullStrategy": "INTERVAL", "interval": n, "timeUnit": "SECONDS"}
				}
				cfgs = append(cfgs, map[string]any{"dynamicDataSourceId": id, "pullConfig": pc})
			}
			if len(cfgs) > 0 {
				m["openDynamicDataConfig"] = map[string]any{"dynamicDataSourceConfigs": cfgs}
			}
			return m, nil
		})
	case "update":
		return send("card update", http.MethodPut, "/instances", func() (map[string]any, error) {
			if *cardID == "" {
				return nil, fmt.Errorf("update needs --card")
			}
			pub, priv, err := cardParams(params, private)
			if err != nil {
				return nil, err
			}
			m := map[string]any{"outTrackId": *cardID, "privateData": priv,
				"cardUpdateOptions": map[string]any{"updateCardDataByKey": *merge, "updatePrivateDataByKey": *merge}}
			if len(params) > 0 {
				m["cardData"] = map[string]any{"cardParamMap": pub}
			}
			return m, nil
		})
	case "deliver":
		return send("card deliver", http.MethodPost, "/instances/deliver", func() (map[string]any, error) {
			if *cardID == "" || *space == "" {
				return nil, fmt.Errorf("deliver needs --card and --space")
			}
			return map[string]any{"outTrackId": *cardID, "openSpaceId": *space,
				"imGroupOpenDeliverModel": map[string]any{"recipients": []string(recipients)},
				"topOpenDeliverModel":     map[string]any{"userIds": []string(recipients)}}, nil
		})
	case "register-callback":
		return send("card register-callback", http.MethodPost, "/callbacks/register", func() (map[string]any, error) {
			if *routeKey == "" || *cbURL == "" {
				return nil, fmt.Errorf("register-callback needs --route-key and --url")
			}
			return map[string]any{"callbackRouteKey": *routeKey, "callbackUrl": *cbURL, "apiSecret": *secret, "forceUpdate": *force}, nil
		})
	case "get":
		if *cardID == "" {
			return usageError(stderr, fs, "get needs --card")
		}
		return callAndPrint(stdout, stderr, "card get", http.MethodGet, base+"/instances?outTrackId="+url.QueryEscape(*cardID), nil, key())
	case "watch":
		if *cardID == "" || *instance == "" || *user == "" {
			return usageError(stderr, fs, "watch needs --card, --instance and --user")
		}
		return watchCard(*server, *instance, *user, *cardID, *count, stdout, stderr)
	}
	return usageError(stderr, fs, "unknown verb %q", verb)
}

// cardParams reads --param k=v and --private user:k=v.
func cardParams(params, private []string) (map[string]string, map[string]any, error) {
	pub := map[string]string{}
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, nil, fmt.Errorf("--param %q is not k=v", p)
		}
		pub[k] = v
	}
	byUser := map[string]map[string]string{}
	for _, p := range private {
		u, kv, ok := strings.Cut(p, ":")
		k, v, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 || u == "" || k == "" {
			return nil, nil, fmt.Errorf("--private %q is not user:k=v", p)
		}
		if byUser[u] == nil {
			byUser[u] = map[string]string{}
		}
		byUser[u][k] = v
	}
	priv := map[string]any{}
	for u, m := range byUser {
		priv[u] = map[string]any{"cardParamMap": m}
	}
	return pub, priv, nil
}

// watchCard opens a card as a client of user and prints each view and
// dynamic data frame as a JSON line until count lines or an interrupt.
func watchCard(server, instance, user, cardID string, count int, stdout, stderr io.Writer) int {
	lines := make(chan any, 256)
	errs := make(chan error, 1)
	c, err := client.New(client.Options{Server: server, InstanceID: instance, OnError: func(err error) {
		if client.IsFatal(err) {
			select {
			case errs <- err:
			default:
			}
		}
	}})
	if err != nil {
		fmt.Fprintf(stderr, "card watch: %v\n", err)
		return 1
	}
	defer c.Close()
	c.OnCardView(func(v *opsyncpb.CardView) {
		l := map[string]any{"kind": "view", "outTrackId": v.OutTrackId, "version": v.Version, "cardParamMap": v.CardParamMap,
			"privateKeys": v.PrivateKeys}
		if v.Version == 0 {
			l["notVisible"] = true // no such card, or this user is not a recipient
		}
		lines <- l
	})
	c.OnCardDynamic(func(d *opsyncpb.CardDynamicData) {
		lines <- map[string]any{"kind": "dynamic", "outTrackId": d.OutTrackId, "sourceId": d.SourceId, "data": d.Data,
			"valueType": d.ValueType, "error": d.Error, "pulledAt": time.UnixMilli(d.PulledAt).UTC().Format(time.RFC3339Nano)}
	})
	if err := c.OpenCard(cardID); err != nil {
		fmt.Fprintf(stderr, "card watch: %v\n", err)
		return 2
	}
	if err := c.UpdateUserInfo(user, ""); err != nil {
		fmt.Fprintf(stderr, "card watch: %v\n", err)
		return 2
	}
	if err := c.AppToForeground(); err != nil {
		fmt.Fprintf(stderr, "card watch: %v\n", err)
		return 1
	}
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	defer signal.Stop(interrupt)
	enc := json.NewEncoder(stdout)
	for n := 0; count == 0 || n < count; n++ {
		select {
		case l := <-lines:
			_ = enc.Encode(l)
		case err := <-errs:
			fmt.Fprintf(stderr, "card watch: %v\n", err)
			return 1
		case <-interrupt:
			return 0
		}
	}
	return 0
}
