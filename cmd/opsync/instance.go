package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const instanceSynopsis = `opsync instance <create|get|list|rotate-keys|settings> --server URL [--instance ID] [flags]

  create       create an instance; prints its apiKey and clientSecret, the only
               time they are shown (the node keeps a hash and a sealed copy)
  get          print an instance and its settings (the keys' first characters only)
  list         print every instance (without credentials)
  rotate-keys  replace the instance's apiKey and clientSecret (the old ones stop
               working) and print the new ones, the only time they are shown
  settings     print the settings, or change those given:
               --require-token=BOOL --validation-url URL --signature-check=on|off
               --push-auth api-key|networks --push-networks CIDR,... --log-api-pushes=BOOL
               --device-binding token|any`

func runInstance(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("instance", instanceSynopsis, stdout, stderr)
	verb, rest, code := splitVerb(fs, args, stdout)
	if code >= 0 {
		return code
	}
	server := serverFlag(fs)
	instance := fs.String("instance", "", "instance id (workspaceId_AppId)")
	requireToken := fs.Bool("require-token", false, "settings: clients must connect with a token")
	validationURL := fs.String("validation-url", "", "settings: the user-consistency validation endpoint (\"\" removes it)")
	signature := fs.String("signature-check", "", "settings: on or off (the console's signature switch)")
	pushAuth := fs.String("push-auth", "", "settings: how the push APIs authenticate: api-key (X-Opsync-Api-Key), or networks (no key from --push-networks; the key still works)")
	pushNetworks := fs.String("push-networks", "", "settings: comma-separated CIDRs or addresses that may push without a key with --push-auth networks (\"\" empties the list)")
	logAPIPushes := fs.Bool("log-api-pushes", false, "settings: record the push APIs' pushes in the operation log")
	binding := fs.String("device-binding", "", "settings: with --require-token, who receives a device's data: token (only a token whose did names the device) or any")
	admin := adminFlags(fs)
	if code := parseFlags(fs, rest, stdout); code >= 0 {
		return code
	}
	base := trimURL(*server) + "/api/v1/instances"
	var method, target string
	var body any
	switch verb {
	case "list":
		method, target = http.MethodGet, base
	case "create", "get", "rotate-keys", "settings":
		if *instance == "" {
			return usageError(stderr, fs, "--instance is required for %s", verb)
		}
		one := base + "/" + url.PathEscape(*instance)
		switch verb {
		case "create":
			method, target, body = http.MethodPost, base, map[string]string{"instanceId": *instance}
		case "get":
			method, target = http.MethodGet, one
		case "rotate-keys":
			method, target = http.MethodPost, one+"/keys/rotate"
		case "settings":
			method, target = http.MethodGet, one+"/settings"
			changes, err := settingsChanges(fs, settingsFlags{*requireToken, *validationURL, *signature, *pushAuth, *pushNetworks, *logAPIPushes, *binding})
			if err != nil {
				return usageError(stderr, fs, "%v", err)
			}
			if len(changes) > 0 {
				method, body = http.MethodPatch, changes
			}
		}
	default:
		return usageError(stderr, fs, "unknown verb %q (create, get, list, rotate-keys, settings)", verb)
	}
	return callAndPrint(stdout, stderr, "instance "+verb, method, target, body, admin.option())
}

// settingsFlags are the values of the settings flags.
type settingsFlags struct {
	requireToken  bool
	validationURL string
	signature     string
	pushAuth      string
	pushNetworks  string
	logAPIPushes  bool
	deviceBinding string
}

// settingsChanges is the PATCH body of the settings flags given.
func settingsChanges(fs *flag.FlagSet, v settingsFlags) (map[string]any, error) {
	out := map[string]any{}
	var err error
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "require-token":
			out["requireToken"] = v.requireToken
		case "validation-url":
			out["validationUrl"] = v.validationURL
		case "push-auth":
			switch v.pushAuth {
			case "api-key", "apiKey":
				out["pushAuth"] = "apiKey"
			case "networks":
				out["pushAuth"] = "networks"
			default:
				err = fmt.Errorf("--push-auth must be api-key or networks, not %q", v.pushAuth)
			}
		case "push-networks":
			nets := []string{}
			for _, n := range strings.Split(v.pushNetworks, ",") {
				if n = strings.TrimSpace(n); n != "" {
					nets = append(nets, n)
				}
			}
			out["pushNetworks"] = nets
		case "log-api-pushes":
			out["logApiPushes"] = v.logAPIPushes
		case "device-binding":
			out["deviceBinding"] = v.deviceBinding // the server checks it
		case "signature-check":
			signature := v.signature
			switch signature {
			case "on":
				out["signatureCheck"] = true
			case "off":
				out["signatureCheck"] = false
			default:
				if b, perr := strconv.ParseBool(signature); perr == nil {
					out["signatureCheck"] = b
				} else {
					err = fmt.Errorf("--signature-check must be on or off, not %q", signature)
				}
			}
		}
	})
	return out, err
}
