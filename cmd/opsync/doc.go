package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"unicode/utf8"

	"github.com/opsync/opsync/client"
)

const docSynopsis = `opsync doc <watch|comments|threads|suggestions|revisions|users|documents|collaborations> ... [flags]

  watch    open --document as an editor of --instance (environment) and print its
           snapshot and each operation as a JSON line (--user, --token: a client JWT
           whose auth.collaboration gives a role on the document)
  comments, threads, suggestions, revisions, users, documents, collaborations
           the documents REST API: opsync doc <resource> --help`

// docVerbs are the session verbs of opsync doc; the permanent-data
// resources (REST v5) go to runDocREST (docrest.go).
var docVerbs = map[string]func(args []string, stdout, stderr io.Writer) int{
	"watch": runDocWatch,
}

func runDoc(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("doc", docSynopsis, stdout, stderr)
	verb, rest, code := splitVerb(fs, args, stdout)
	if code >= 0 {
		return code
	}
	if isDocRESTResource(verb) {
		return runDocREST(args, stdout, stderr)
	}
	run, ok := docVerbs[verb]
	if !ok {
		return usageError(stderr, fs, "unknown verb %q", verb)
	}
	return run(rest, stdout, stderr)
}

func runDocWatch(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("doc watch", docSynopsis, stdout, stderr)
	server := serverFlag(fs)
	docID := fs.String("document", "", "document id")
	instance := fs.String("instance", "", "instance (environment) id")
	user := fs.String("user", "", "the user to connect as")
	token := newSecretFlag(fs, "token", "OPSYNC_CLIENT_TOKEN", "a client `JWT` signed with the instance's client secret (env OPSYNC_CLIENT_TOKEN)")
	count := fs.Int("count", 0, "exit after N lines (0: until interrupted)")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if *docID == "" || *instance == "" {
		return usageError(stderr, fs, "watch needs --document and --instance")
	}
	return watchDoc(*server, *instance, *user, token.get(), *docID, *count, stdout, stderr)
}

// docLine is one printed line: the document's snapshot or an operation.
type docLine struct {
	Kind       string `json:"kind"`
	DocumentID string `json:"documentId"`
	Version    uint64 `json:"version"`
	UserID     string `json:"userId,omitempty"`
	// Data is the bytes as text when they are UTF-8, else DataBase64.
	Data       *string `json:"data,omitempty"`
	DataBase64 string  `json:"dataBase64,omitempty"`
}

func newDocLine(kind, id string, version uint64, user string, data []byte) docLine {
	l := docLine{Kind: kind, DocumentID: id, Version: version, UserID: user}
	if utf8.Valid(data) {
		s := string(data)
		l.Data = &s
	} else {
		l.DataBase64 = base64.StdEncoding.EncodeToString(data)
	}
	return l
}

// watchDoc opens a document as an editor and prints its snapshot and every
// operation, in version order, until count lines or an interrupt.
func watchDoc(server, instance, user, token, docID string, count int, stdout, stderr io.Writer) int {
	errs := make(chan error, 1)
	c, err := client.New(client.Options{Server: server, InstanceID: instance, Token: token, OnError: func(err error) {
		if client.IsFatal(err) {
			select {
			case errs <- err:
			default:
			}
		}
	}})
	if err != nil {
		fmt.Fprintf(stderr, "doc watch: %v\n", err)
		return 1
	}
	defer c.Close()
	d, err := c.OpenDocument(docID)
	if err != nil {
		fmt.Fprintf(stderr, "doc watch: %v\n", err)
		return 2
	}
	if user != "" {
		if err := c.UpdateUserInfo(user, ""); err != nil {
			fmt.Fprintf(stderr, "doc watch: %v\n", err)
			return 2
		}
	}
	if err := c.AppToForeground(); err != nil {
		fmt.Fprintf(stderr, "doc watch: %v\n", err)
		return 1
	}
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	defer signal.Stop(interrupt)
	enc := json.NewEncoder(stdout)
	printed, n := uint64(0), 0
	emit := func(l docLine) bool {
		_ = enc.Encode(l)
		n++
		return count > 0 && n >= count
	}
	for {
		changed := d.Changed()
		if snap, v := d.Snapshot(); v > printed {
			if emit(newDocLine("snapshot", docID, v, "", snap)) {
				return 0
			}
			printed = v
		}
		for _, op := range d.Ops() {
			if op.Version <= printed {
				continue
			}
			if emit(newDocLine("op", docID, op.Version, op.UserID, op.Data)) {
				return 0
			}
			printed = op.Version
		}
		if d.Closed() {
			fmt.Fprintf(stderr, "doc watch: the server refused document %s (the token gives no role on it)\n", docID)
			return 1
		}
		select {
		case <-changed:
		case err := <-errs:
			fmt.Fprintf(stderr, "doc watch: %v\n", err)
			return 1
		case <-interrupt:
			return 0
		}
	}
}
