package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsync/opsync/client"
)

// editor is a Go client with one document open.
type editor struct {
	*client.Client
	doc *client.Document
}

// dialEditor connects a client of user with token ("" none) to instance
// and opens document docID; it fails t unless the connection is accepted.
func dialEditor(t *testing.T, base, instance, user, token, docID string) *editor {
	t.Helper()
	up := make(chan struct{})
	var once sync.Once
	c, err := client.New(client.Options{Server: base, InstanceID: instance, DeviceID: "dev-" + user, Token: token, MinBackoff: 20 * time.Millisecond,
		OnStateChange: func(connected bool) {
			if connected {
				once.Do(func() { close(up) })
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.OpenDocument(docID)
	if err != nil {
		t.Fatal(err)
	}
	if err := tryOnline(t, c, user, up); err != nil {
		t.Fatal(err)
	}
	return &editor{Client: c, doc: d}
}

// waitVersion waits until the editor has version v.
func (e *editor) waitVersion(t *testing.T, v uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.doc.WaitVersion(ctx, v); err != nil {
		t.Fatal(err)
	}
}

// send sends ops at base and returns the answer.
func (e *editor) send(t *testing.T, base uint64, ops ...string) client.DocAnswer {
	t.Helper()
	a, err := e.trySend(base, ops...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *editor) trySend(base uint64, ops ...string) (client.DocAnswer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var bs [][]byte
	for _, o := range ops {
		bs = append(bs, []byte(o))
	}
	return e.doc.Send(ctx, base, bs)
}

// docJournal returns the line of a stopped node's journal list for
// actor, and whether it is listed.
func docJournal(t *testing.T, dataDir, actor string) (journalListed, bool) {
	t.Helper()
	out, errOut, code := run(t, "journal", "--data", dataDir, "list")
	if code != 0 {
		t.Fatalf("journal list: exit %d: %s", code, errOut)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var a journalListed
		if line != "" && json.Unmarshal([]byte(line), &a) == nil && a.Actor == actor {
			return a, true
		}
	}
	return journalListed{}, false
}

// awaitLog waits until the server's log has what.
func awaitLog(t *testing.T, s *server, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.stderr.String(), what) {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not log %q within 30s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling a log: there is no event to await
	}
}
