package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsync/opsync/internal/auth"
)

// The JS SDK (sdk/js) in headless Chromium against a real node: a page
// registers a bizType, receives 500 pushes in order and acknowledges them;
// reloaded mid-stream it receives the rest exactly once (its sync points
// kept in IndexedDB); the node killed with -9 and restarted, the page
// reconnects by itself and receives what was pushed meanwhile; a block
// opened in two pages shows both the same versions; two pages editing one
// document at once (racing sends, rebased) end with the identical version
// sequence; a comment one page creates is seen by another user's page
// through onRecordChange, whose delete of it is refused FORBIDDEN, and its
// author's delete is seen there too; a wrong token is an `unauthorized`
// error event. Skipped without node or chromium unless
// OPSYNC_REQUIRE_NODE=1 / OPSYNC_REQUIRE_CHROMIUM=1.
func TestJSSDKBrowser(t *testing.T) {
	needBrowser(t)
	dataDir := t.TempDir()
	srv := startServer(t, dataDir, "--allow-origin", "127.0.0.1:*")
	b := startBrowser(t)
	const inst, biz, user = "ws_JSSDK", "JSSDK", "ann"
	secret := createInstance(t, srv.URL, inst).Instance.ClientSecret
	setSettings(t, srv.URL, inst, map[string]any{"requireToken": true})
	putBizType(t, srv.URL, inst, biz, map[string]any{"target": "user", "multiDevice": true})
	token := tokenFor(t, secret, auth.Claims{Subject: user, Instance: inst, ExpiresAt: time.Now().Add(time.Hour).Unix()})
	pageQuery := func(extra ...string) url.Values {
		q := url.Values{"server": {srv.URL}, "instance": {inst}, "user": {user}, "token": {token}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return q
	}

	// 500 pushes, received in order and acknowledged.
	p := b.open("p1", pageQuery("biz", biz))
	b.until("p1 connected", 30*time.Second, func() bool { return p.connected == 1 })
	first := seqIDs("a", 0, 500)
	for _, id := range first {
		pushOK(t, srv.URL, inst, biz, user, id)
	}
	b.until("p1 to receive 500 messages", 60*time.Second, func() bool { return len(p.msgs) >= 500 })
	if got := p.tids(); !slices.Equal(got, first) {
		t.Fatalf("p1 received %d messages, not the 500 in order: %s", len(got), joinShort(got))
	}
	var lastID uint64
	for i, m := range p.msgs {
		id, _ := strconv.ParseUint(m.ID, 10, 64)
		if id <= lastID || m.Payload != "p-"+first[i] {
			t.Fatalf("message %d: oplog id %s after %d, payload %q", i, m.ID, lastID, m.Payload)
		}
		lastID = id
	}
	waitFor(t, "the server to record 500 acknowledgements", 30*time.Second, func() bool {
		return records(t, srv.URL, inst, "users", user).Arrivals == 500
	})

	// A reload mid-stream: the rest exactly once.
	second := seqIDs("b", 0, 500)
	pushErr := make(chan error, 1)
	var pushing sync.WaitGroup
	pushing.Add(1)
	go func() {
		defer pushing.Done()
		pushErr <- pushAll(t, srv.URL, inst, biz, user, second)
	}()
	b.until("p1 to receive 100 messages of the second stream", 60*time.Second, func() bool { return len(p.msgs) >= 600 })
	b.reload("p1")
	// The reports to the test are for progress only: one sent as the page
	// unloads can be lost. The page's own log, written in its handler, is
	// what it handled.
	b.until("p1 to handle the second stream's last message after its reload", 90*time.Second, func() bool {
		return len(p.msgs) > 0 && p.msgs[len(p.msgs)-1].Tid == second[len(second)-1]
	})
	pushing.Wait()
	if err := <-pushErr; err != nil {
		t.Fatal(err)
	}
	lives := strings.Split(b.eval("p1", `localStorage.getItem("log")`), "|")
	if len(lives) != 3 || lives[0] != "" {
		t.Fatalf("p1's log has %d loads: %q", len(lives)-1, lives)
	}
	before, after := strings.Split(strings.TrimSuffix(lives[1], ","), ","), strings.Split(strings.TrimSuffix(lives[2], ","), ",")
	if !slices.Equal(before[:500], first) {
		t.Fatalf("p1's log of its first load starts %s", joinShort(before))
	}
	before = before[500:]
	if got := append(slices.Clone(before), after...); !slices.Equal(got, second) {
		t.Fatalf("the second stream, handled across the reload, is not each message once in order:\nbefore the reload %s\nafter %s",
			joinShort(before), joinShort(after))
	}
	if len(after) == 0 {
		t.Fatal("the reload came after the second stream's end")
	}
	t.Logf("second stream: %d handled before the reload, %d after", len(before), len(after))

	// kill -9 and a restart on the same address: the page reconnects by
	// itself and receives what was pushed meanwhile.
	connectedBefore := p.connected
	host := srv.Listening["url"]
	srv.kill9()
	b.until("p1 to see the connection lost", 30*time.Second, func() bool {
		return p.disconn > 0 && len(p.errors) > 0 && p.errors[len(p.errors)-1].Kind == "connectionLost"
	})
	u, _ := url.Parse(host)
	srv = startServer(t, dataDir, "--allow-origin", "127.0.0.1:*", "--http", u.Host)
	third := seqIDs("c", 0, 50)
	for _, id := range third {
		pushOK(t, srv.URL, inst, biz, user, id)
	}
	b.until("p1 to reconnect and receive the pushes of the restart", 60*time.Second, func() bool { return p.hasAll(third) })
	if p.connected <= connectedBefore {
		t.Fatalf("p1 connected %d times, %d before the kill", p.connected, connectedBefore)
	}
	if got := p.tids()[len(p.msgs)-len(third):]; !slices.Equal(got, third) {
		t.Fatalf("after the restart p1 received %s", joinShort(got))
	}

	// A block in two pages: the same versions.
	blockID := createBlock(t, srv.URL, inst, nil)
	p2 := b.open("p2", pageQuery("block", blockID))
	p3 := b.open("p3", url.Values{"server": {srv.URL}, "instance": {inst}, "user": {"bob"},
		"token": {tokenFor(t, secret, auth.Claims{Subject: "bob", Instance: inst, ExpiresAt: time.Now().Add(time.Hour).Unix()})}, "block": {blockID}})
	b.until("both pages to open the block", 30*time.Second, func() bool { return len(p2.blocks) > 0 && len(p3.blocks) > 0 })
	for i := 1; i <= 5; i++ {
		if st, a := updateBlock(t, srv.URL, inst, blockID, fmt.Sprintf(`{"votes":%d}`, i), ""); st != http.StatusOK || a.Code != 0 {
			t.Fatalf("update %d: %d %+v", i, st, a)
		}
	}
	want := []string{`1:{"votes":0}`, `2:{"votes":1}`, `3:{"votes":2}`, `4:{"votes":3}`, `5:{"votes":4}`, `6:{"votes":5}`}
	b.until("both pages to see version 6", 30*time.Second, func() bool {
		return len(p2.blocks) >= len(want) && len(p3.blocks) >= len(want)
	})
	if !slices.Equal(p2.blocks, want) || !slices.Equal(p3.blocks, want) {
		t.Fatalf("block versions:\np2 %v\np3 %v\nwant %v", p2.blocks, p3.blocks, want)
	}

	// A document edited in two pages at once: each sends its operations
	// one after another, from the same moment; the session accepts one at
	// each version and answers the other REBASE, the page rebases (its
	// operation gets a "'") and sends again. Both end with the same
	// sequence, holding every operation once, each page's in its order.
	const docID, perPage = "doc-js", 25
	docToken := func(user string) string {
		return tokenFor(t, secret, auth.Claims{Subject: user, Instance: inst, ExpiresAt: time.Now().Add(time.Hour).Unix(),
			Auth: collab(map[string]string{docID: "writer"})})
	}
	p5 := b.open("p5", url.Values{"server": {srv.URL}, "instance": {inst}, "user": {"ann"}, "token": {docToken("ann")}, "doc": {docID}})
	p6 := b.open("p6", url.Values{"server": {srv.URL}, "instance": {inst}, "user": {"bob"}, "token": {docToken("bob")}, "doc": {docID}})
	b.until("both editors connected", 30*time.Second, func() bool { return p5.connected > 0 && p6.connected > 0 })
	at := strconv.FormatInt(time.Now().Add(300*time.Millisecond).UnixMilli(), 10)
	b.eval("p5", `window.docEdit("a", `+strconv.Itoa(perPage)+`, `+at+`), 1`)
	b.eval("p6", `window.docEdit("b", `+strconv.Itoa(perPage)+`, `+at+`), 1`)
	b.until("both editors to send every operation and see all", 60*time.Second, func() bool {
		return p5.docDone > 0 && p6.docDone > 0 && p5.docVersion >= 2*perPage && p6.docVersion >= 2*perPage
	})
	seq5, seq6 := b.eval("p5", "window.docSeen()"), b.eval("p6", "window.docSeen()")
	if seq5 != seq6 {
		t.Fatalf("the editors' version sequences differ:\np5 %s\np6 %s", seq5, seq6)
	}
	byPage := map[byte][]string{}
	for i, entry := range strings.Split(seq5, ",") {
		v, data, _ := strings.Cut(entry, ":")
		if v != strconv.Itoa(i+1) {
			t.Fatalf("entry %d of the sequence is at version %s: %s", i, v, seq5)
		}
		base := strings.TrimRight(data, "'")
		byPage[base[0]] = append(byPage[base[0]], base)
	}
	if want := seqN("a", perPage); !slices.Equal(byPage['a'], want) {
		t.Fatalf("p5's operations in the sequence: %v, want %v", byPage['a'], want)
	}
	if want := seqN("b", perPage); !slices.Equal(byPage['b'], want) {
		t.Fatalf("p6's operations in the sequence: %v, want %v", byPage['b'], want)
	}
	if p5.rebases+p6.rebases == 0 || !strings.Contains(seq5, "'") {
		t.Fatalf("the editors never raced (no rebase): %s", seq5)
	}
	t.Logf("document: %d versions, rebases: p5 %d, p6 %d", 2*perPage, p5.rebases, p6.rebases)

	// A document's records in two pages: ann (writer) comments, bob
	// (commentator) sees it through onRecordChange and may not delete it;
	// ann may, and bob sees that too.
	const recDoc = "doc-rec"
	recToken := func(user, role string) string {
		return tokenFor(t, secret, auth.Claims{Subject: user, Instance: inst, ExpiresAt: time.Now().Add(time.Hour).Unix(),
			Auth: collab(map[string]string{recDoc: role})})
	}
	p7 := b.open("p7", url.Values{"server": {srv.URL}, "instance": {inst}, "user": {"ann"}, "token": {recToken("ann", "writer")}, "recdoc": {recDoc}})
	p8 := b.open("p8", url.Values{"server": {srv.URL}, "instance": {inst}, "user": {"bob"}, "token": {recToken("bob", "commentator")}, "recdoc": {recDoc}})
	b.until("both record pages connected", 30*time.Second, func() bool { return p7.connected > 0 && p8.connected > 0 })
	// Bob's changes are live once the node's live mark reached his page.
	t.Logf("bob's record changes live at version %s", b.eval("p8", "window.recordsLive()"))
	type record struct {
		ID, ThreadID, UserID, Content, DeletedAt string
	}
	rec := func(page, call string) record {
		t.Helper()
		out := b.eval(page, "window.rec("+call+")")
		var r record
		if strings.HasPrefix(out, "error:") || json.Unmarshal([]byte(out), &r) != nil {
			t.Fatalf("%s: rec(%s): %s", page, call, out)
		}
		return r
	}
	rec("p7", `"createThread", {id: "t1"}`)
	if c := rec("p7", `"createComment", {id: "c1", threadId: "t1", content: "hello from ann", userId: "bob"}`); c.UserID != "ann" || c.DeletedAt != "0" {
		t.Fatalf("ann's comment: %+v (its author is the connection's user)", c)
	}
	// seenC1 are bob's changes of c1 so far.
	seenC1 := func() []record {
		var out []record
		for _, e := range p8.records {
			var r record
			if e.ID == "c1" && e.Action == "put" && e.Kind == "comment" && json.Unmarshal([]byte(e.Data), &r) == nil {
				out = append(out, r)
			}
		}
		return out
	}
	b.until("bob to see ann's comment", 30*time.Second, func() bool { return len(seenC1()) > 0 })
	if got := seenC1()[0]; got.Content != "hello from ann" || got.UserID != "ann" || got.ThreadID != "t1" || got.DeletedAt != "0" {
		t.Fatalf("bob saw ann's comment as %+v", got)
	}
	if out := b.eval("p8", `window.rec("deleteComment", "c1")`); !strings.HasPrefix(out, "error:FORBIDDEN:") || !strings.Contains(out, "only its author") {
		t.Fatalf("bob deleting ann's comment: %s, want FORBIDDEN", out)
	}
	if d := rec("p7", `"deleteComment", "c1"`); d.DeletedAt == "0" {
		t.Fatalf("ann's delete answers %+v", d)
	}
	b.until("bob to see ann's delete", 30*time.Second, func() bool { return len(seenC1()) >= 2 })
	if got := seenC1(); len(got) != 2 || got[1].DeletedAt == "0" {
		t.Fatalf("bob's changes of c1: %+v, want its creation then its deletion (nothing of his refused delete)", got)
	}
	if kinds := func() (out []string) {
		for _, e := range p8.records {
			out = append(out, e.Kind+":"+e.ID)
		}
		return out
	}(); !slices.Equal(kinds, []string{"thread:t1", "comment:c1", "comment:c1"}) {
		t.Fatalf("bob's record changes: %v", kinds)
	}
	if out := b.eval("p8", `window.rec("list", "comment", {threadId: "t1"})`); out != `{"records":[],"nextCursor":""}` {
		t.Fatalf("bob's list of t1's comments after the delete: %s", out)
	}
	if out := b.eval("p8", `window.rec("list", "comment", {threadId: "t1", includeDeleted: true})`); !strings.Contains(out, `"id":"c1"`) {
		t.Fatalf("bob's list of t1's comments, deleted included: %s", out)
	}

	// A wrong token: the error event names it.
	bad := b.open("p4", url.Values{"server": {srv.URL}, "instance": {inst}, "user": {user}, "token": {"not-a-token"}, "biz": {biz}})
	b.until("p4's error", 30*time.Second, func() bool { return len(bad.errors) > 0 })
	if e := bad.errors[0]; e.Kind != "unauthorized" || e.Code != 4401 || !e.Fatal || bad.connected != 0 {
		t.Fatalf("wrong token: %+v (connected %d)", e, bad.connected)
	}
	if len(p.errors) > 0 {
		for _, e := range p.errors {
			if e.Kind != "connectionLost" {
				t.Errorf("p1 error: %+v", e)
			}
		}
	}
}

// seqN is prefix0 … prefix(n-1).
func seqN(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

// pushAll pushes ids in turn, from a goroutine other than the test's.
func pushAll(t *testing.T, base, inst, biz, user string, ids []string) error {
	for _, id := range ids {
		var a pushAnswer
		st, err := tryCall(t, http.MethodPost, base+"/webapi/sync/single?instanceId="+url.QueryEscape(inst),
			map[string]any{"bizType": biz, "linkToken": user, "thirdMsgId": id, "payload": "p-" + id}, &a, nil)
		if err != nil {
			return err
		}
		if st != 200 || a.Msg != "SUCCESS" {
			return fmt.Errorf("push %s: %d %+v", id, st, a)
		}
	}
	return nil
}
