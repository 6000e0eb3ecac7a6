package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opsync/opsync/internal/docrest"
)

// `opsync doc <resource> <verb>`: the documents REST API (/api/v5/{env}/)
// signed with the environment's API secret. The `doc` command's dispatch
// (doc.go) hands these resources to runDocREST.

const docRESTSynopsis = `opsync doc <comments|threads|suggestions|revisions|users|documents|collaborations> <verb> --server URL --env ID [flags]

  list      the document's records (--document), a thread's comments (--thread),
            --limit N (at most 1000), --cursor C (next_cursor of the page before),
            --include-deleted
  get       one record (--id) of --document; --include-deleted
  create    a record of --document from --body JSON (the REST body: id, thread_id,
            user_id, content, attributes, type, data, name, ...)
  update    a record (--id) from --body JSON: the fields it names
  delete    soft-delete a record (--id); --force removes it for good
            (documents: delete --id DOC --force removes everything of a document;
            collaborations: get --id DOC shows its live session, delete --id DOC
            ends it)
  restore   bring a soft-deleted record back
  resolve, reopen   threads: to the comment archive and back
  accept, reject    suggestions

  Calls are signed (X-CS-Timestamp, X-CS-Signature) with the environment's API
  secret (--secret, env OPSYNC_DOC_SECRET), which an admin issues:
  POST /api/v1/instances/{id}/doc/secret.`

// docRESTVerbs are the verbs each REST resource takes.
var docRESTVerbs = map[string]map[string]bool{
	"comments":    {"list": true, "get": true, "create": true, "update": true, "delete": true, "restore": true},
	"threads":     {"list": true, "get": true, "create": true, "update": true, "delete": true, "restore": true, "resolve": true, "reopen": true},
	"suggestions": {"list": true, "get": true, "create": true, "update": true, "delete": true, "restore": true, "accept": true, "reject": true},
	"revisions":   {"list": true, "get": true, "create": true, "update": true, "delete": true, "restore": true},
	"users":       {"list": true, "get": true, "create": true, "update": true, "delete": true},
	"documents":   {"delete": true},
	// A document's live session, by its document id (--id).
	"collaborations": {"get": true, "delete": true},
}

// isDocRESTResource reports whether the doc command's first argument is
// one of runDocREST's resources.
func isDocRESTResource(s string) bool { return docRESTVerbs[s] != nil }

// runDocREST runs `opsync doc <resource> <verb> [flags]`; args start with
// the resource.
func runDocREST(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("doc", docRESTSynopsis, stdout, stderr)
	resource, rest, code := splitVerb(fs, args, stdout)
	if code >= 0 {
		return code
	}
	if docRESTVerbs[resource] == nil {
		return usageError(stderr, fs, "unknown resource %q", resource)
	}
	verb, rest, code := splitVerb(fs, rest, stdout)
	if code >= 0 {
		return code
	}
	if strings.HasPrefix(verb, "-") { // flags before the verb
		fmt.Fprintf(stderr, "doc %s: a verb comes before the flags\n", resource)
		fs.Usage()
		return 2
	}
	if !docRESTVerbs[resource][verb] {
		return usageError(stderr, fs, "%s takes no verb %q", resource, verb)
	}
	server := serverFlag(fs)
	env := fs.String("env", "", "the environment (instance) id")
	document := fs.String("document", "", "the document id")
	id := fs.String("id", "", "the record's id")
	thread := fs.String("thread", "", "list comments: of this thread")
	limit := fs.Int("limit", 0, "list: page size (1-1000)")
	cursor := fs.String("cursor", "", "list: the next_cursor of the page before")
	deleted := fs.Bool("include-deleted", false, "list, get: soft-deleted records too")
	force := fs.Bool("force", false, "delete: for good")
	body := fs.String("body", "", "create, update: the JSON body")
	secret := newSecretFlag(fs, "secret", "OPSYNC_DOC_SECRET", "the environment's REST API `secret` (env OPSYNC_DOC_SECRET)")
	if code := parseFlags(fs, rest, stdout); code >= 0 {
		return code
	}
	if *env == "" {
		return usageError(stderr, fs, "--env is required")
	}
	q := url.Values{}
	if *document != "" && resource != "documents" && resource != "collaborations" {
		q.Set("document_id", *document)
	}
	path := "/" + resource
	needID := verb != "list" && verb != "create"
	if needID {
		if *id == "" {
			return usageError(stderr, fs, "%s %s needs --id", resource, verb)
		}
		path += "/" + url.PathEscape(*id)
	}
	method := http.MethodGet
	var raw []byte
	switch verb {
	case "list":
		if *thread != "" {
			q.Set("thread_id", *thread)
		}
		if *limit != 0 {
			q.Set("limit", strconv.Itoa(*limit))
		}
		if *cursor != "" {
			q.Set("cursor", *cursor)
		}
	case "create", "update":
		if *body == "" || !json.Valid([]byte(*body)) {
			return usageError(stderr, fs, "%s needs --body with a JSON object", verb)
		}
		raw = []byte(*body)
		method = map[string]string{"create": http.MethodPost, "update": http.MethodPut}[verb]
	case "delete":
		method = http.MethodDelete
		if *force {
			q.Set("force", "true")
		}
	case "restore":
		method, path = http.MethodPut, path+"/restore"
	default: // resolve, reopen, accept, reject
		method, path = http.MethodPost, path+"/"+verb
	}
	if *deleted && (verb == "list" || verb == "get") {
		q.Set("include_deleted", "true")
	}
	uri := "/api/v5/" + url.PathEscape(*env) + path
	if len(q) > 0 {
		uri += "?" + q.Encode()
	}
	what := "doc " + resource + " " + verb
	status, answer, err := signedCall(trimURL(*server), method, uri, raw, secret.get())
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", what, err)
		return 1
	}
	if status/100 != 2 {
		fmt.Fprintf(stderr, "%s: HTTP %d: %s%s\n", what, status, bytes.TrimSpace(answer), hintFor(status))
		return 1
	}
	if len(answer) == 0 {
		answer = []byte(`{"ok":true}`)
	}
	printAnswer(stdout, answer)
	return 0
}

// signedCall sends a REST v5 request signed with secret.
func signedCall(base, method, uri string, body []byte, secret string) (int, []byte, error) {
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	sig := docrest.Sign([]byte(secret), docrest.SignedMessage(method, uri, ts, body))
	req, err := http.NewRequest(method, base+uri, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(docrest.TimestampHeader, ts)
	req.Header.Set(docrest.SignatureHeader, sig)
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, out, err
}
