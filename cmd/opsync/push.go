package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
)

func runPush(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("push", "opsync push --server URL --instance ID --biz B [--link-token T] --msg-id ID (--payload TEXT | --binary-file F) [--valid-until MS] [--api-key KEY | --admin-token T] [flags]", stdout, stderr)
	server := serverFlag(fs)
	instance := fs.String("instance", "", "instance id")
	biz := fs.String("biz", "", "bizType")
	linkToken := fs.String("link-token", "", "userId or device id, per the bizType's target; omit for a global push")
	msgID := fs.String("msg-id", "", "thirdMsgId: the idempotency key of the push")
	payload := fs.String("payload", "", "text payload")
	binaryFile := fs.String("binary-file", "", "file whose bytes are the binary payload")
	validUntil := fs.Int64("valid-until", 0, "validTimeEnd: ms since the epoch after which the entry is not delivered")
	osType := fs.String("os-type", "", "deliver only to clients of this OS (iOS, Android, ...)")
	minVer := fs.String("app-min-version", "", "lowest client app version to deliver to (inclusive)")
	maxVer := fs.String("app-max-version", "", "highest client app version to deliver to (inclusive)")
	apiKeyFlag := newSecretFlag(fs, "api-key", "OPSYNC_API_KEY", "the instance's push API `key` (env OPSYNC_API_KEY); without it the push goes through the admin API (admin token) and is recorded in the operation log")
	admin := adminFlags(fs)
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	switch {
	case *instance == "" || *biz == "" || *msgID == "":
		return usageError(stderr, fs, "--instance, --biz and --msg-id are required")
	case (*payload == "") == (*binaryFile == ""):
		return usageError(stderr, fs, "give exactly one of --payload and --binary-file")
	}
	body := map[string]any{"bizType": *biz, "thirdMsgId": *msgID}
	if *payload != "" {
		body["payload"] = *payload
	} else {
		b, err := os.ReadFile(*binaryFile)
		if err != nil {
			fmt.Fprintf(stderr, "push: %v\n", err)
			return 1
		}
		body["binaryPayload"] = base64.StdEncoding.EncodeToString(b)
	}
	for k, v := range map[string]string{"linkToken": *linkToken, "osType": *osType, "appMinVersion": *minVer, "appMaxVersion": *maxVer} {
		if v != "" {
			body[k] = v
		}
	}
	if *validUntil > 0 {
		body["validTimeEnd"] = *validUntil
	}
	api := "single"
	if *linkToken == "" {
		api = "global"
	}
	target := trimURL(*server) + "/webapi/sync/" + api + "?instanceId=" + url.QueryEscape(*instance)
	apiKey := apiKeyFlag.get()
	opt := withAPIKey(apiKey)
	if apiKey == "" {
		target, opt = trimURL(*server)+"/api/v1/instances/"+url.PathEscape(*instance)+"/push", admin.option()
	}
	status, raw, err := callJSON(http.MethodPost, target, body, opt)
	if err != nil {
		fmt.Fprintf(stderr, "push: %v\n", err)
		return 1
	}
	printAnswer(stdout, raw)
	var ans struct {
		Success bool `json:"success"`
	}
	if status != http.StatusOK || json.Unmarshal(raw, &ans) != nil || !ans.Success {
		return 1
	}
	return 0
}
