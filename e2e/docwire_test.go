package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/client"
	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/internal/document"
	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

const (
	recThread  = opsyncpb.DocKind_DOC_KIND_THREAD
	recComment = opsyncpb.DocKind_DOC_KIND_COMMENT
	recSugg    = opsyncpb.DocKind_DOC_KIND_SUGGESTION
)

// wantRecord returns a check that a record request answered code (with a
// detail when refused), failing t on a transport error.
func wantRecord(t *testing.T, what, code string) func(client.RecordAnswer, error) client.RecordAnswer {
	return func(a client.RecordAnswer, err error) client.RecordAnswer {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if a.Code != code || (code != "" && a.Detail == "") {
			t.Fatalf("%s: %q %q, want %q", what, a.Code, a.Detail, code)
		}
		return a
	}
}

// Issue 15 over the client protocol: user B cannot edit or delete user A's
// comment, suggestion or thread (FORBIDDEN, and nothing changes, as the
// REST API reads it back); A's own updates and deletes work; a reader
// creates nothing; a commentator comments but accepts no suggestion; a
// record of one document is not found through another; a document not
// open on the connection is refused.
func TestDocWireOwnRecords(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst, doc, docX = "ws_DOCWIRE", "doc-w", "doc-x"
	secret := createInstance(t, srv.URL, inst).Instance.ClientSecret
	rest := newDocEnv(t, srv.URL, inst)
	tok := func(user, role string) string {
		return tokenFor(t, secret, auth.Claims{Subject: user, Instance: inst, Auth: collab(map[string]string{doc: role, docX: role})})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ann := dialEditor(t, srv.URL, inst, "ann", tok("ann", "writer"), doc)
	bob := dialEditor(t, srv.URL, inst, "bob", tok("bob", "writer"), doc)

	// A creates a thread, a comment (naming another author: the server
	// makes it A's) and a suggestion.
	th := wantRecord(t, "ann's thread", "")(ann.doc.CreateThread(ctx, &opsyncpb.DocThread{Id: "t1", Context: `{"type":"text"}`}))
	if got := th.Records[0].GetThread(); got.AuthorId != "ann" || got.DocumentId != doc {
		t.Fatalf("the thread: %v", got)
	}
	c := wantRecord(t, "ann's comment", "")(ann.doc.CreateComment(ctx, &opsyncpb.DocComment{Id: "c1", ThreadId: "t1", UserId: "bob", Content: "by ann"}))
	if got := c.Records[0].GetComment(); got.UserId != "ann" || got.Content != "by ann" {
		t.Fatalf("the comment: %v (its author is the connection's user)", got)
	}
	wantRecord(t, "ann's suggestion", "")(ann.doc.CreateSuggestion(ctx, &opsyncpb.DocSuggestion{Id: "s1", Type: "insertion", Data: `{"text":"x"}`}))
	// The server names a record created without an id.
	gen := wantRecord(t, "a comment without id", "")(ann.doc.CreateComment(ctx, &opsyncpb.DocComment{ThreadId: "t1", Content: "second"}))
	if id := gen.Records[0].GetComment().Id; id == "" {
		t.Fatal("a comment created without id got none")
	}

	// B: each change of A's records is refused, clearly.
	for _, tc := range []struct {
		what string
		call func() (client.RecordAnswer, error)
	}{
		{"bob updates ann's comment", func() (client.RecordAnswer, error) {
			return bob.doc.UpdateComment(ctx, "c1", &opsyncpb.DocComment{Content: "by bob"})
		}},
		{"bob deletes ann's comment", func() (client.RecordAnswer, error) { return bob.doc.DeleteRecord(ctx, recComment, "c1") }},
		{"bob updates ann's suggestion", func() (client.RecordAnswer, error) {
			return bob.doc.UpdateSuggestion(ctx, "s1", &opsyncpb.DocSuggestion{Data: `{"text":"bob"}`})
		}},
		{"bob deletes ann's suggestion", func() (client.RecordAnswer, error) { return bob.doc.DeleteRecord(ctx, recSugg, "s1") }},
		{"bob updates ann's thread", func() (client.RecordAnswer, error) {
			return bob.doc.UpdateThread(ctx, "t1", &opsyncpb.DocThread{Attributes: `{"bob":true}`})
		}},
		{"bob deletes ann's thread", func() (client.RecordAnswer, error) { return bob.doc.DeleteRecord(ctx, recThread, "t1") }},
	} {
		a := wantRecord(t, tc.what, state.DocForbidden)(tc.call())
		if !strings.Contains(a.Detail, "only its author") {
			t.Fatalf("%s: detail %q does not say why", tc.what, a.Detail)
		}
	}
	// Nothing changed, as the backend reads it.
	rc := rest.must(200, "GET", "/comments/c1?document_id="+doc, nil)
	if rc["content"] != "by ann" || rc["deleted_at"] != nil || rc["user"].(map[string]any)["id"] != "ann" {
		t.Fatalf("ann's comment after bob's refused changes: %v", rc)
	}
	rs := rest.must(200, "GET", "/suggestions/s1?document_id="+doc, nil)
	if rs["data"].(map[string]any)["text"] != "x" || rs["deleted_at"] != nil || rs["author_id"] != "ann" || rs["state"] != state.SuggestionOpen {
		t.Fatalf("ann's suggestion after bob's refused changes: %v", rs)
	}
	if rt := rest.must(200, "GET", "/threads/t1?document_id="+doc, nil); rt["attributes"] != nil || rt["deleted_at"] != nil {
		t.Fatalf("ann's thread after bob's refused changes: %v", rt)
	}

	// B comments in A's thread: that comment is B's own.
	wantRecord(t, "bob's reply", "")(bob.doc.CreateComment(ctx, &opsyncpb.DocComment{Id: "c-bob", ThreadId: "t1", Content: "reply"}))
	wantRecord(t, "ann updates bob's reply", state.DocForbidden)(ann.doc.UpdateComment(ctx, "c-bob", &opsyncpb.DocComment{Content: "by ann"}))
	wantRecord(t, "bob updates his reply", "")(bob.doc.UpdateComment(ctx, "c-bob", &opsyncpb.DocComment{Content: "reply, edited"}))

	// A's own changes work.
	if u := wantRecord(t, "ann updates", "")(ann.doc.UpdateComment(ctx, "c1", &opsyncpb.DocComment{Content: "edited by ann"})); u.Records[0].GetComment().Content != "edited by ann" {
		t.Fatalf("the update answers %v", u.Records)
	}
	if rc := rest.must(200, "GET", "/comments/c1?document_id="+doc, nil); rc["content"] != "edited by ann" {
		t.Fatalf("REST reads %v after ann's update", rc)
	}
	wantRecord(t, "ann updates her suggestion", "")(ann.doc.UpdateSuggestion(ctx, "s1", &opsyncpb.DocSuggestion{Data: `{"text":"y"}`}))
	wantRecord(t, "ann deletes", "")(ann.doc.DeleteRecord(ctx, recComment, "c1"))
	rest.must(404, "GET", "/comments/c1?document_id="+doc, nil)
	if rc := rest.must(200, "GET", "/comments/c1?document_id="+doc+"&include_deleted=true", nil); rc["deleted_at"] == nil {
		t.Fatalf("a soft-deleted comment: %v", rc)
	}
	wantRecord(t, "bob restores ann's comment", state.DocForbidden)(bob.doc.RestoreRecord(ctx, recComment, "c1"))
	rest.must(404, "GET", "/comments/c1?document_id="+doc, nil)
	wantRecord(t, "ann restores", "")(ann.doc.RestoreRecord(ctx, recComment, "c1"))
	rest.must(200, "GET", "/comments/c1?document_id="+doc, nil)
	wantRecord(t, "ann deletes her suggestion", "")(ann.doc.DeleteRecord(ctx, recSugg, "s1"))
	if rs := rest.must(200, "GET", "/suggestions/s1?document_id="+doc+"&include_deleted=true", nil); rs["deleted_at"] == nil || rs["data"].(map[string]any)["text"] != "y" {
		t.Fatalf("ann's suggestion after her update and delete: %v", rs)
	}
	wantRecord(t, "ann restores her suggestion", "")(ann.doc.RestoreRecord(ctx, recSugg, "s1"))

	// Reads over the socket, in creation order.
	l := wantRecord(t, "list", "")(bob.doc.ListRecords(ctx, client.RecordQuery{Kind: recComment, ThreadID: "t1"}))
	var ids []string
	for _, r := range l.Records {
		ids = append(ids, r.GetComment().Id)
	}
	if want := []string{"c1", gen.Records[0].GetComment().Id, "c-bob"}; !slices.Equal(ids, want) {
		t.Fatalf("the thread's comments: %v, want %v", ids, want)
	}

	// A reader reads but creates nothing; a commentator comments but does
	// not accept; a writer does.
	rex := dialEditor(t, srv.URL, inst, "rex", tok("rex", "reader"), doc)
	wantRecord(t, "a reader's comment", state.DocForbidden)(rex.doc.CreateComment(ctx, &opsyncpb.DocComment{Id: "c-rex", ThreadId: "t1", Content: "x"}))
	wantRecord(t, "a reader reads", "")(rex.doc.GetRecord(ctx, recComment, "c1", false))
	rest.must(404, "GET", "/comments/c-rex?document_id="+doc, nil)
	cat := dialEditor(t, srv.URL, inst, "cat", tok("cat", "commentator"), doc)
	wantRecord(t, "a commentator's comment", "")(cat.doc.CreateComment(ctx, &opsyncpb.DocComment{Id: "c-cat", ThreadId: "t1", Content: "x"}))
	wantRecord(t, "a commentator accepts", state.DocForbidden)(cat.doc.AcceptSuggestion(ctx, "s1"))
	if a := wantRecord(t, "a writer accepts", "")(bob.doc.AcceptSuggestion(ctx, "s1")); a.Records[0].GetSuggestion().State != state.SuggestionAccepted {
		t.Fatalf("accepted: %v", a.Records)
	}
	// Malformed input is refused and stores nothing.
	wantRecord(t, "a page over 1000", state.DocInvalid)(ann.doc.ListRecords(ctx, client.RecordQuery{Kind: recComment, Limit: 1001}))
	wantRecord(t, "bad JSON attributes", state.DocInvalid)(ann.doc.CreateComment(ctx, &opsyncpb.DocComment{Id: "c-bad", ThreadId: "t1", Attributes: "{nope"}))
	wantRecord(t, "a revision", state.DocForbidden)(ann.doc.RecordRequest(ctx, &opsyncpb.DocumentData{Action: opsyncpb.DocAction_DOC_ACTION_CREATE, Kind: opsyncpb.DocKind_DOC_KIND_REVISION,
		Record: &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Revision{Revision: &opsyncpb.DocRevision{Id: "r1"}}}}))
	rest.must(404, "GET", "/comments/c-bad?document_id="+doc, nil)

	// A record of document X, acted on with document Y open: not found.
	annX, err := ann.OpenDocument(docX)
	if err != nil {
		t.Fatal(err)
	}
	wantRecord(t, "a thread in X", "")(annX.CreateThread(ctx, &opsyncpb.DocThread{Id: "tx"}))
	wantRecord(t, "a comment in X", "")(annX.CreateComment(ctx, &opsyncpb.DocComment{Id: "cx", ThreadId: "tx", Content: "in X"}))
	wantRecord(t, "X's comment updated through Y", state.DocNotFound)(ann.doc.UpdateComment(ctx, "cx", &opsyncpb.DocComment{Content: "via Y"}))
	wantRecord(t, "X's comment deleted through Y", state.DocNotFound)(ann.doc.DeleteRecord(ctx, recComment, "cx"))
	wantRecord(t, "X's comment read through Y", state.DocNotFound)(ann.doc.GetRecord(ctx, recComment, "cx", true))
	if rc := rest.must(200, "GET", "/comments/cx?document_id="+docX, nil); rc["content"] != "in X" {
		t.Fatalf("X's comment: %v", rc)
	}

	// A document not open on the connection: NOT_OPEN, whatever the
	// token allows (raw frames: the client library sends for open
	// documents only).
	raw := rawDocSocket(t, srv.URL, inst, "ann", tok("ann", "writer"))
	upd := &opsyncpb.DocumentData{RequestId: 7, DocumentId: doc, Action: opsyncpb.DocAction_DOC_ACTION_UPDATE, Kind: recComment, RecordId: "c1",
		Record: &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Comment{Comment: &opsyncpb.DocComment{Content: "raw"}}}}
	if a := raw.ask(upd); a.Code != document.CodeNotOpen || a.RequestId != 7 || a.DocumentId != doc {
		t.Fatalf("a document not open: %v", a)
	}
	raw.send(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Open{Open: &opsyncpb.Open{Kind: document.StateKind, Id: doc}}})
	upd.RequestId = 8
	if a := raw.ask(upd); a.Code != "" || a.Records[0].GetComment().Content != "raw" {
		t.Fatalf("once open: %v", a)
	}
	raw.send(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Close{Close: &opsyncpb.Close{Kind: document.StateKind, Id: doc}}})
	upd.RequestId = 9
	if a := raw.ask(upd); a.Code != document.CodeNotOpen {
		t.Fatalf("after Close: %v", a)
	}

	// A connection without a user (no token: every editor a writer)
	// changes nothing: as the backend it could change anyone's.
	anon := rawDocSocket(t, srv.URL, inst, "", "")
	anon.send(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Open{Open: &opsyncpb.Open{Kind: document.StateKind, Id: doc}}})
	upd.RequestId = 10
	if a := anon.ask(upd); a.Code != state.DocForbidden {
		t.Fatalf("a connection without a user: %v", a)
	}
	if rc := rest.must(200, "GET", "/comments/c1?document_id="+doc, nil); rc["content"] != "raw" {
		t.Fatalf("after the refusals: %v", rc)
	}
}

// rawSocket is a client connection speaking frames directly.
type rawSocket struct {
	t  *testing.T
	ws *websocket.Conn
}

// rawDocSocket connects user with token to instance.
func rawDocSocket(t *testing.T, base, instance, user, token string) *rawSocket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/webapi/sync/ws", &websocket.DialOptions{Subprotocols: []string{"opsync.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	r := &rawSocket{t: t, ws: ws}
	r.send(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Connect{Connect: &opsyncpb.Connect{InstanceId: instance, UserId: user, DeviceId: "raw-" + user, Token: token}}})
	if f := r.next(func(f *opsyncpb.ServerFrame) bool { return f.GetConnected() != nil || f.GetError() != nil }); f.GetConnected() == nil {
		t.Fatalf("connect: %v", f)
	}
	return r
}

func (r *rawSocket) send(f *opsyncpb.ClientFrame) {
	r.t.Helper()
	b, err := proto.Marshal(f)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.ws.Write(ctx, websocket.MessageBinary, b); err != nil {
		r.t.Fatal(err)
	}
}

// next reads frames until one that want takes.
func (r *rawSocket) next(want func(*opsyncpb.ServerFrame) bool) *opsyncpb.ServerFrame {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, b, err := r.ws.Read(ctx)
		if err != nil {
			r.t.Fatalf("read: %v", err)
		}
		f := &opsyncpb.ServerFrame{}
		if err := proto.Unmarshal(b, f); err != nil {
			r.t.Fatal(err)
		}
		if want(f) {
			return f
		}
	}
}

// ask sends a DocumentData frame and reads its answer.
func (r *rawSocket) ask(m *opsyncpb.DocumentData) *opsyncpb.DocumentDataAnswer {
	r.t.Helper()
	r.send(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_DocumentData{DocumentData: m}})
	return r.next(func(f *opsyncpb.ServerFrame) bool {
		return f.GetDocumentDataAnswer() != nil && f.GetDocumentDataAnswer().RequestId == m.RequestId
	}).GetDocumentDataAnswer()
}

// Editors watching a document's records see each change live, in order,
// whoever made it (another editor, the backend); a refused change shows
// nothing; a token without a role on the document cannot watch it.
func TestDocWireLiveChanges(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst, doc = "ws_DOCLIVE", "doc-live"
	secret := createInstance(t, srv.URL, inst).Instance.ClientSecret
	rest := newDocEnv(t, srv.URL, inst)
	tok := func(user, role string) string {
		return tokenFor(t, secret, auth.Claims{Subject: user, Instance: inst, Auth: collab(map[string]string{doc: role})})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ann := dialEditor(t, srv.URL, inst, "ann", tok("ann", "writer"), doc)
	rex := dialEditor(t, srv.URL, inst, "rex", tok("rex", "reader"), doc)
	// The watch is live once its Open has reached the document's actor,
	// which answers with a live mark: every change after it is seen.
	liveAt := make(chan uint64, 4)
	if err := rex.doc.OnRecordsLive(func(v uint64) { liveAt <- v }); err != nil {
		t.Fatal(err)
	}
	changes := make(chan *opsyncpb.DocumentDataEvent, 64)
	if err := rex.doc.OnRecordChange(func(e *opsyncpb.DocumentDataEvent) { changes <- e }); err != nil {
		t.Fatal(err)
	}
	next := func(what string) *opsyncpb.DocRecord {
		t.Helper()
		select {
		case e := <-changes:
			if len(e.Put) != 1 {
				t.Fatalf("%s: %v", what, e)
			}
			return e.Put[0]
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no change seen within 30s", what)
			return nil
		}
	}
	select {
	case v := <-liveAt:
		if v != 0 {
			t.Fatalf("live at version %d of a document without records, want 0", v)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no live mark within 30s")
	}
	wantRecord(t, "a thread", "")(ann.doc.CreateThread(ctx, &opsyncpb.DocThread{Id: "t1"}))
	if th := next("the thread").GetThread(); th.GetId() != "t1" {
		t.Fatalf("the thread seen: %v", th)
	}
	wantRecord(t, "ann's comment", "")(ann.doc.CreateComment(ctx, &opsyncpb.DocComment{Id: "c1", ThreadId: "t1", Content: "live"}))
	if c := next("ann's comment").GetComment(); c.GetId() != "c1" || c.UserId != "ann" || c.Content != "live" {
		t.Fatalf("the comment seen: %v", c)
	}
	rest.must(200, "PUT", "/comments/c1?document_id="+doc, map[string]any{"content": "by the backend"})
	if c := next("the backend's update").GetComment(); c.Content != "by the backend" {
		t.Fatalf("the update seen: %v", c)
	}
	// A refused change shows nothing: the next change seen is ann's delete.
	wantRecord(t, "rex deletes", state.DocForbidden)(rex.doc.DeleteRecord(ctx, recComment, "c1"))
	wantRecord(t, "ann deletes", "")(ann.doc.DeleteRecord(ctx, recComment, "c1"))
	if c := next("ann's delete").GetComment(); c.GetId() != "c1" || c.DeletedAt == 0 {
		t.Fatalf("the delete seen: %v", c)
	}

	// No role on the document: the watch is refused (request 0).
	raw := rawDocSocket(t, srv.URL, inst, "ola", tokenFor(t, secret, auth.Claims{Subject: "ola", Instance: inst, Auth: collab(map[string]string{"other": "writer"})}))
	raw.send(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Open{Open: &opsyncpb.Open{Kind: document.RecordsStateKind, Id: doc}}})
	if a := raw.next(func(f *opsyncpb.ServerFrame) bool { return f.GetDocumentDataAnswer() != nil }).GetDocumentDataAnswer(); a.Code != state.DocForbidden || a.RequestId != 0 || a.DocumentId != doc {
		t.Fatalf("a watch without a role: %v", a)
	}
}
