package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsync/opsync/client"
	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/internal/document"
)

func collab(roles map[string]string) *auth.ClaimsAuth {
	a := &auth.ClaimsAuth{Collaboration: map[string]auth.DocumentGrant{}}
	for id, r := range roles {
		a.Collaboration[id] = auth.DocumentGrant{Role: r}
	}
	return a
}

// Three editors race at the same base version: exactly one is accepted
// per version, the others are told to rebase and are accepted after; all
// see the identical sequence; a late joiner gets the snapshot and every
// later operation and converges. A reader cannot send operations, a token
// without a role on a document cannot open it, oversize operations are
// refused with a clear answer.
func TestDocSessionEditorsRace(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst, doc = "ws_DOCRACE", "doc-race"
	secret := createInstance(t, srv.URL, inst).Instance.ClientSecret
	tok := func(user string, roles map[string]string) string {
		return tokenFor(t, secret, auth.Claims{Subject: user, Instance: inst, Auth: collab(roles)})
	}
	var eds []*editor
	for _, u := range []string{"ann", "bob", "cid"} {
		eds = append(eds, dialEditor(t, srv.URL, inst, u, tok(u, map[string]string{doc: "writer"}), doc))
	}

	// Round one: all three at base 0, at once.
	const perEditor = 5
	var mu sync.Mutex
	accepted := map[uint64]string{} // version -> user
	firstRound := map[string]int{}  // answer code at base 0 -> count
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, len(eds))
	for i, e := range eds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			base := uint64(0)
			for n := 0; n < perEditor; {
				op := fmt.Sprintf("e%d-op%d", i, n)
				a, err := e.trySend(base, op)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if base == 0 && n == 0 {
					firstRound[a.Code]++
				}
				switch a.Code {
				case "":
					if prev, dup := accepted[a.Version]; dup {
						errs <- fmt.Errorf("version %d accepted twice (%s, %s)", a.Version, prev, op)
					}
					accepted[a.Version] = op
					n++
					base = a.Version
				case document.CodeRebase:
					if len(a.Missed) == 0 || a.Missed[len(a.Missed)-1].Version != a.Version {
						errs <- fmt.Errorf("a rebase answer without the missed operations: %+v", a)
					}
					base = a.Version // the missed ops are applied: rebased
				default:
					errs <- fmt.Errorf("answer %+v", a)
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if firstRound[""] != 1 || firstRound[document.CodeRebase] != 2 {
		t.Fatalf("the race at base 0: %v, want one accepted and two told to rebase", firstRound)
	}
	const total = 3 * perEditor
	for v := uint64(1); v <= total; v++ {
		if accepted[v] == "" {
			t.Fatalf("version %d accepted by nobody: %v", v, accepted)
		}
	}
	seq := func(ops []client.DocOp) string {
		var b strings.Builder
		for _, o := range ops {
			fmt.Fprintf(&b, "%d:%s:%s ", o.Version, o.UserID, o.Data)
		}
		return b.String()
	}
	var want string
	for i, e := range eds {
		e.waitVersion(t, total)
		got := seq(e.doc.Ops())
		if i == 0 {
			want = got
		} else if got != want {
			t.Fatalf("editor %d saw\n%s\neditor 0 saw\n%s", i, got, want)
		}
	}
	for _, o := range eds[0].doc.Ops() {
		if accepted[o.Version] != string(o.Data) {
			t.Fatalf("version %d is %q, the session accepted %q", o.Version, o.Data, accepted[o.Version])
		}
	}

	// A snapshot at 10, then a late joiner: the snapshot and 11..15.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if a, err := eds[0].doc.SendSnapshot(ctx, 10, []byte("content@10")); err != nil || a.Code != "" {
		t.Fatalf("snapshot: %+v %v", a, err)
	}
	late := dialEditor(t, srv.URL, inst, "dan", tok("dan", map[string]string{"*": "writer"}), doc)
	late.waitVersion(t, total)
	if data, v := late.doc.Snapshot(); v != 10 || string(data) != "content@10" {
		t.Fatalf("the late joiner's snapshot: %q at %d", data, v)
	}
	if got, want := seq(late.doc.Ops()), seq(eds[0].doc.Ops()[10:]); got != want {
		t.Fatalf("the late joiner has\n%s\nwant\n%s", got, want)
	}
	// It converges: its next op is accepted at 16 and everyone sees it.
	if a := late.send(t, total, "dan-op"); a.Code != "" || a.Version != total+1 {
		t.Fatalf("the late joiner's op: %+v", a)
	}
	for _, e := range eds {
		e.waitVersion(t, total+1)
		if ops := e.doc.Ops(); string(ops[len(ops)-1].Data) != "dan-op" {
			t.Fatalf("editor got %q last", ops[len(ops)-1].Data)
		}
	}

	// A reader receives but cannot send; only a writer sends snapshots.
	reader := dialEditor(t, srv.URL, inst, "rex", tok("rex", map[string]string{doc: "reader"}), doc)
	reader.waitVersion(t, total+1)
	if a := reader.send(t, total+1, "nope"); a.Code != document.CodeForbidden || a.Detail == "" {
		t.Fatalf("a reader's op: %+v", a)
	}
	// A commentator sends ops but no snapshot.
	com := dialEditor(t, srv.URL, inst, "cat", tok("cat", map[string]string{doc: "commentator"}), doc)
	com.waitVersion(t, total+1)
	if a, err := com.doc.SendSnapshot(ctx, total+1, []byte("x")); err != nil || a.Code != document.CodeForbidden {
		t.Fatalf("a commentator's snapshot: %+v %v", a, err)
	}
	// Oversize: refused with its reason, nothing accepted.
	if a := eds[1].send(t, total+1, strings.Repeat("x", document.MaxOpBytes+1)); a.Code != document.CodeTooLarge || !strings.Contains(a.Detail, "at most") {
		t.Fatalf("an oversize op: %+v", a)
	}
	// A token with no role on the document cannot open it.
	other := dialEditor(t, srv.URL, inst, "ola", tok("ola", map[string]string{"doc-other": "writer"}), doc)
	if err := other.doc.WaitVersion(ctx, 1); err != client.ErrClosed {
		t.Fatalf("a document the token gives no role on: %v", err)
	}
	if a := eds[2].send(t, total+1, "last"); a.Code != "" || a.Version != total+2 {
		t.Fatalf("after the refusals: %+v (nothing else was accepted)", a)
	}
}

// Isolation: a token of environment A does not connect to environment B
// (so it opens none of B's documents), and the same document id in two
// environments is two sessions.
func TestDocSessionIsolation(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const a, b, doc = "ws_DOCA", "ws_DOCB", "shared-id"
	secretA := createInstance(t, srv.URL, a).Instance.ClientSecret
	secretB := createInstance(t, srv.URL, b).Instance.ClientSecret
	tokA := tokenFor(t, secretA, auth.Claims{Subject: "u", Instance: a, Auth: collab(map[string]string{"*": "writer"})})
	if _, err := tryConnect(t, srv.URL, b, "u", "s", "dev-iso", tokA); err == nil {
		t.Fatal("a token of environment A connected to environment B")
	}
	ea := dialEditor(t, srv.URL, a, "u", tokA, doc)
	if ans := ea.send(t, 0, "in-A"); ans.Code != "" || ans.Version != 1 {
		t.Fatalf("A: %+v", ans)
	}
	eb := dialEditor(t, srv.URL, b, "u", tokenFor(t, secretB, auth.Claims{Subject: "u", Instance: b}), doc)
	if ans := eb.send(t, 0, "in-B"); ans.Code != "" || ans.Version != 1 || len(ans.Missed) != 0 {
		t.Fatalf("B's document of the same id: %+v, want its own version 1", ans)
	}
	ea.waitVersion(t, 1)
	if ops := ea.doc.Ops(); len(ops) != 1 || string(ops[0].Data) != "in-A" {
		t.Fatalf("A sees %+v", ops)
	}
}
