package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
)

func runRecords(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("records", "opsync records --server URL --instance ID (--user U | --device D) [--since MS] [--limit N]", stdout, stderr)
	server := serverFlag(fs)
	instance := fs.String("instance", "", "instance id")
	user := fs.String("user", "", "user id")
	device := fs.String("device", "", "device id")
	since := fs.Int64("since", 0, "count and list entries pushed at or after this time (ms; default: the last 30 days)")
	limit := fs.Int("limit", 100, "list at most this many entries, newest first (1-1000)")
	admin := adminReadFlags(fs)
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if *instance == "" || (*user == "") == (*device == "") {
		return usageError(stderr, fs, "--instance and exactly one of --user and --device are required")
	}
	kind, id := "users", *user
	if *device != "" {
		kind, id = "devices", *device
	}
	q := url.Values{"limit": {fmt.Sprint(*limit)}}
	if *since > 0 {
		q.Set("since", fmt.Sprint(*since))
	}
	u := trimURL(*server) + "/api/v1/instances/" + url.PathEscape(*instance) + "/" + kind + "/" + url.PathEscape(id) + "/records?" + q.Encode()
	status, raw, err := callJSON(http.MethodGet, u, nil, admin.option())
	if err != nil {
		fmt.Fprintf(stderr, "records: %v\n", err)
		return 1
	}
	if status != http.StatusOK {
		fmt.Fprintf(stderr, "records: HTTP %d: %s%s\n", status, raw, hintFor(status))
		return 1
	}
	printAnswer(stdout, raw)
	return 0
}
