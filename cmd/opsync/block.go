package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"

	"github.com/opsync/opsync/client"
)

const blockSynopsis = `opsync block <create|update|get|delete|message|watch> --server URL [flags]

  create   create a block (--type, --data JSON [--business-id ID] [--title T] [--version V])
  update   send a new version of --block (--data JSON [--version V]; without it the next one)
  get      a block's current state and viewers online (--block ID, or --business-id ID);
           with --admin --instance ID --block ID, the records view through the admin API
           (admin token): version, title, times, viewers online per node and in total
  delete   delete --block: later requests answer 1770002, its viewers get a last
           version saying deleted (opsync's addition to the service's API)
  message  send a typed message to the devices of --user U... that have --block open
           (--type T --body TEXT [--version V]); answers how many devices received it
  watch    open --block as a client of --instance (and --user) and print each version
           ("deleted":true on a deleted block's last) and typed message as a JSON line

  create, update, get, delete and message authenticate with the instance's API key
  (--api-key, env OPSYNC_API_KEY), which also names the instance.`

func runBlock(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("block", blockSynopsis, stdout, stderr)
	verb, rest, code := splitVerb(fs, args, stdout)
	if code >= 0 {
		return code
	}
	server := serverFlag(fs)
	blockID := fs.String("block", "", "block id")
	businessID := fs.String("business-id", "", "create/get: the backend's business id bound to the block")
	typ := fs.String("type", "", "create: block_type_id; message: the typed message's type")
	data := fs.String("data", "", "create/update: source_data, a JSON text")
	title := fs.String("title", "", "create/update: title")
	version := fs.String("version", "", "create/update/message: the version (a decimal integer)")
	body := fs.String("body", "", "message: the message's data")
	var users multiFlag
	fs.Var(&users, "user", "message: a user to send to (repeatable); watch: the user to connect as")
	instance := fs.String("instance", "", "watch, get --admin: instance id")
	admin := fs.Bool("admin", false, "get: the records view through the admin API (--instance, --admin-token)")
	adminAuth := adminTokenFlag(fs)
	count := fs.Int("count", 0, "watch: exit after N lines (0: until interrupted)")
	apiKeyFlag := newSecretFlag(fs, "api-key", "OPSYNC_API_KEY", "the instance's API `key` (env OPSYNC_API_KEY)")
	if code := parseFlags(fs, rest, stdout); code >= 0 {
		return code
	}
	base := trimURL(*server) + "/open-apis/block/v2"
	key := func() reqOption { return withAPIKey(apiKeyFlag.get()) }
	entity := func() map[string]any {
		m := map[string]any{}
		for k, v := range map[string]string{"block_type_id": *typ, "source_data": *data, "title": *title, "version": *version, "business_id": *businessID} {
			if v != "" {
				m[k] = v
			}
		}
		return m
	}
	switch verb {
	case "create":
		if *typ == "" || *data == "" {
			return usageError(stderr, fs, "create needs --type and --data")
		}
		return callAndPrint(stdout, stderr, "block create", http.MethodPost, base+"/entities", entity(), key())
	case "update":
		if *blockID == "" || *data == "" {
			return usageError(stderr, fs, "update needs --block and --data")
		}
		return callAndPrint(stdout, stderr, "block update", http.MethodPut, base+"/entities/"+url.PathEscape(*blockID), entity(), key())
	case "get":
		switch {
		case *admin:
			if *instance == "" || *blockID == "" {
				return usageError(stderr, fs, "get --admin needs --instance and --block")
			}
			return callAndPrint(stdout, stderr, "block get", http.MethodGet,
				trimURL(*server)+"/api/v1/instances/"+url.PathEscape(*instance)+"/blocks/"+url.PathEscape(*blockID), nil, adminAuth.option())
		case *blockID != "":
			return callAndPrint(stdout, stderr, "block get", http.MethodGet, base+"/entities/"+url.PathEscape(*blockID), nil, key())
		case *businessID != "":
			return callAndPrint(stdout, stderr, "block get", http.MethodGet, base+"/entities?business_id="+url.QueryEscape(*businessID), nil, key())
		}
		return usageError(stderr, fs, "get needs --block or --business-id")
	case "delete":
		if *blockID == "" {
			return usageError(stderr, fs, "delete needs --block")
		}
		return callAndPrint(stdout, stderr, "block delete", http.MethodDelete, base+"/entities/"+url.PathEscape(*blockID), nil, key())
	case "message":
		if *blockID == "" || len(users) == 0 {
			return usageError(stderr, fs, "message needs --block and at least one --user")
		}
		m := map[string]any{"block_id": *blockID, "open_ids": []string(users), "type": *typ, "body": *body}
		if *version != "" {
			m["version"] = *version
		}
		return callAndPrint(stdout, stderr, "block message", http.MethodPost, base+"/message", m, key())
	case "watch":
		if *blockID == "" || *instance == "" {
			return usageError(stderr, fs, "watch needs --block and --instance")
		}
		user := ""
		if len(users) > 0 {
			user = users[0]
		}
		return watchBlock(*server, *instance, user, *blockID, *count, stdout, stderr)
	}
	return usageError(stderr, fs, "unknown verb %q", verb)
}

// watchBlock opens a block as a client and prints each version and typed
// message as a JSON line until count lines or an interrupt.
func watchBlock(server, instance, user, blockID string, count int, stdout, stderr io.Writer) int {
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
		fmt.Fprintf(stderr, "block watch: %v\n", err)
		return 1
	}
	defer c.Close()
	c.OnResourceChange(func(b client.Block) {
		l := map[string]any{"kind": "state", "blockId": b.BlockID, "version": b.Version, "sourceData": b.SourceData, "title": b.Title, "updatedAt": b.UpdatedAt}
		if b.Deleted {
			l["deleted"] = true
		}
		lines <- l
	})
	c.OnTypedMessage(func(m client.TypedMessage) {
		lines <- map[string]any{"kind": "typed", "blockId": m.BlockID, "type": m.Type, "data": string(m.Data), "version": m.Version}
	})
	if err := c.OpenBlock(blockID); err != nil {
		fmt.Fprintf(stderr, "block watch: %v\n", err)
		return 2
	}
	if user != "" {
		if err := c.UpdateUserInfo(user, ""); err != nil {
			fmt.Fprintf(stderr, "block watch: %v\n", err)
			return 2
		}
	}
	if err := c.AppToForeground(); err != nil {
		fmt.Fprintf(stderr, "block watch: %v\n", err)
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
			fmt.Fprintf(stderr, "block watch: %v\n", err)
			return 1
		case <-interrupt:
			return 0
		}
	}
	return 0
}
