package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// runOperations queries an instance's operation log (who changed what,
// when). "opsync oplog" is its deprecated alias: oplog names the sync
// oplog everywhere else.
func runOperations(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("operations", "opsync operations --server URL --instance ID [--operator NAME] [--action ACTION] [--biz-type B] [--from T] [--to T] [--limit N]\n\n"+
		"  T is RFC 3339, a date (YYYY-MM-DD) or milliseconds since the epoch; default: the last 7 days.\n"+
		"  ACTION: CREATE_CONFIG, MODIFY_CONFIG, DELETE_CONFIG, CREATE_PUSH, ONLINE_CONFIG, OFFLINE_CONFIG,\n"+
		"  SIGNATURE_ON, SIGNATURE_OFF, CREATE_INSTANCE, ROTATE_KEYS, MODIFY_SETTINGS\n"+
		"  'opsync oplog' is a deprecated alias of this command.", stdout, stderr)
	server := serverFlag(fs)
	instance := fs.String("instance", "", "instance id")
	who := fs.String("operator", "", "only the operations of this operator")
	action := fs.String("action", "", "only operations of this action")
	bizType := fs.String("biz-type", "", "only operations about this bizType (exactly)")
	from := fs.String("from", "", "only operations at or after this time")
	to := fs.String("to", "", "only operations at or before this time")
	limit := fs.Int("limit", 1000, "at most this many operations, newest first (1-1000)")
	admin := adminReadFlags(fs)
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if *instance == "" {
		return usageError(stderr, fs, "--instance is required")
	}
	q := url.Values{"limit": {fmt.Sprint(*limit)}}
	for k, v := range map[string]string{"operator": *who, "action": *action, "bizType": *bizType, "from": *from, "to": *to} {
		if v != "" {
			q.Set(k, v)
		}
	}
	u := trimURL(*server) + "/api/v1/instances/" + url.PathEscape(*instance) + "/operations?" + q.Encode()
	status, raw, err := callJSON(http.MethodGet, u, nil, admin.option())
	if err != nil {
		fmt.Fprintf(stderr, "operations: %v\n", err)
		return 1
	}
	if status != http.StatusOK {
		fmt.Fprintf(stderr, "operations: HTTP %d: %s%s\n", status, raw, hintFor(status))
		return 1
	}
	printAnswer(stdout, raw)
	return 0
}
