package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

const configSynopsis = `opsync config <put|get|list|delete|online|offline> --server URL --instance ID [--biz B] [flags]

  put      create or update a bizType config (flags below)
  get      print one config
  list     print every config of the instance
  delete   delete a config
  online   put a config online (pushes accepted)
  offline  take a config offline (pushes answer BIZ_NOT_ONLINE)`

func runConfig(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("config", configSynopsis, stdout, stderr)
	verb, rest, code := splitVerb(fs, args, stdout)
	if code >= 0 {
		return code
	}
	server := serverFlag(fs)
	instance := fs.String("instance", "", "instance id (workspaceId_AppId)")
	biz := fs.String("biz", "", "bizType identifier (A-Z, a-z, 0-9, '-', '_', at most 30; upper case recommended; matched exactly)")
	target := fs.String("target", "user", "put: user or device")
	scope := fs.String("scope", "single", "put: single (specified users/devices) or global")
	multi := fs.Bool("multi-device", false, "put: every device of a user syncs every entry (user target)")
	persistent := fs.Bool("persistent", true, "put: keep entries for offline clients")
	threshold := fs.Uint("threshold", 0, "put: keep only the newest N backlog entries (threshold re-push mode); 0 = queue mode")
	consistency := fs.Bool("consistency", false, "put: deliver only to sessions the instance's validation endpoint accepts (user target)")
	description := fs.String("description", "", "put: description")
	retries := fs.Uint("max-retries", 6, "put: redeliveries of an unacknowledged entry before it is dropped")
	retention := fs.Uint("retention-days", 30, "put: days an entry is kept")
	admin := adminFlags(fs)
	if code := parseFlags(fs, rest, stdout); code >= 0 {
		return code
	}
	if *instance == "" {
		return usageError(stderr, fs, "--instance is required")
	}
	base := trimURL(*server) + "/api/v1/instances/" + url.PathEscape(*instance) + "/biztypes"
	var method, target2 string
	var body any
	switch verb {
	case "list":
		method, target2 = http.MethodGet, base
	case "get", "delete", "online", "offline", "put":
		if *biz == "" {
			return usageError(stderr, fs, "--biz is required for %s", verb)
		}
		target2 = base + "/" + url.PathEscape(*biz)
		switch verb {
		case "get":
			method = http.MethodGet
		case "delete":
			method = http.MethodDelete
		case "online", "offline":
			method, target2 = http.MethodPost, target2+"/"+verb
		case "put":
			method = http.MethodPut
			warnBizCase(stderr, "config put", *biz)
			body = putBody(*target, *scope, *multi, *persistent, *threshold, *consistency, *description, *retries, *retention)
		}
	default:
		return usageError(stderr, fs, "unknown verb %q (put, get, list, delete, online, offline)", verb)
	}
	return callAndPrint(stdout, stderr, "config "+verb, method, target2, body, admin.option())
}

// putBody is the whole config: PUT replaces a bizType's config, so every
// field is sent, flags not given taking their defaults.
func putBody(target, scope string, multi, persistent bool, threshold uint, consistency bool, description string, retries, retention uint) map[string]any {
	b := map[string]any{
		"target": target, "scope": scope, "multiDevice": multi, "persistent": persistent,
		"consistencyCheck": consistency, "description": description, "maxRetries": retries, "retentionDays": retention,
	}
	if threshold > 0 {
		b["repushMode"] = "threshold"
		b["threshold"] = threshold
	}
	return b
}

// warnBizCase warns about a bizType that is not upper case. opsync accepts
// it, as the source does, but the source recommends upper case and '-'
// (DEVICE-LOCK), and identifiers are matched exactly: a config "chat" is
// not the "CHAT" an app registers.
func warnBizCase(stderr io.Writer, cmd, biz string) {
	if biz != strings.ToUpper(biz) {
		fmt.Fprintf(stderr, "%s: warning: bizType %q is not upper case; upper case and '-' are recommended (e.g. DEVICE-LOCK), and bizTypes are matched exactly\n", cmd, biz)
	}
}
