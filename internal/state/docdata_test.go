package state

import (
	"testing"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// docHarness applies what Decide makes, as the actor does.
type docHarness struct {
	t   *testing.T
	d   *DocData
	seq uint64
	now int64
}

func (h *docHarness) do(cmd *opsyncpb.DocDataCommand) string {
	h.t.Helper()
	h.now += 1000
	if cmd.DocumentId == "" {
		cmd.DocumentId = "doc-1"
	}
	ev, ref := h.d.Decide(cmd, h.now)
	if ref != nil {
		return ref.Code
	}
	h.seq++
	if err := h.d.Apply(h.seq, &opsyncpb.Event{Kind: &opsyncpb.Event_DocData{DocData: ev}}); err != nil {
		h.t.Fatal(err)
	}
	return "ok"
}

const (
	kThread  = opsyncpb.DocKind_DOC_KIND_THREAD
	kComment = opsyncpb.DocKind_DOC_KIND_COMMENT
	kSugg    = opsyncpb.DocKind_DOC_KIND_SUGGESTION
	kUser    = opsyncpb.DocKind_DOC_KIND_USER
)

func act(a opsyncpb.DocAction, k opsyncpb.DocKind, id, user string) *opsyncpb.DocDataCommand {
	return &opsyncpb.DocDataCommand{Action: a, Kind: k, Id: id, ActingUser: user}
}

func comment(id, thread, user, content string) *opsyncpb.DocRecord {
	return &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Comment{Comment: &opsyncpb.DocComment{Id: id, ThreadId: thread, UserId: user, Content: content}}}
}

func TestDocDataRules(t *testing.T) {
	const (
		create  = opsyncpb.DocAction_DOC_ACTION_CREATE
		update  = opsyncpb.DocAction_DOC_ACTION_UPDATE
		del     = opsyncpb.DocAction_DOC_ACTION_DELETE
		restore = opsyncpb.DocAction_DOC_ACTION_RESTORE
		resolve = opsyncpb.DocAction_DOC_ACTION_RESOLVE
		reopen  = opsyncpb.DocAction_DOC_ACTION_REOPEN
		accept  = opsyncpb.DocAction_DOC_ACTION_ACCEPT
		reject  = opsyncpb.DocAction_DOC_ACTION_REJECT
	)
	withRec := func(c *opsyncpb.DocDataCommand, r *opsyncpb.DocRecord) *opsyncpb.DocDataCommand {
		c.Record = r
		return c
	}
	forced := func(c *opsyncpb.DocDataCommand) *opsyncpb.DocDataCommand { c.Force = true; return c }
	thread := &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Thread{Thread: &opsyncpb.DocThread{Id: "t1"}}}
	sugg := &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Suggestion{Suggestion: &opsyncpb.DocSuggestion{Id: "s1", Type: "insertion"}}}
	steps := []struct {
		name string
		cmd  *opsyncpb.DocDataCommand
		want string
	}{
		{"comment on no thread", withRec(act(create, kComment, "", "alice"), comment("c1", "t1", "", "hi")), DocNotFound},
		{"thread", withRec(act(create, kThread, "", "alice"), thread), "ok"},
		{"thread twice", withRec(act(create, kThread, "", "alice"), thread), DocConflict},
		{"bob edits alice's thread", withRec(act(update, kThread, "t1", "bob"), thread), DocForbidden},
		{"bob deletes alice's thread", act(del, kThread, "t1", "bob"), DocForbidden},
		{"alice comments", withRec(act(create, kComment, "", "alice"), comment("c1", "t1", "mallory", "hi")), "ok"},
		{"kind mismatch", withRec(act(create, kThread, "", "alice"), comment("c2", "t1", "", "x")), DocInvalid},
		{"no id", withRec(act(create, kComment, "", "alice"), comment("", "t1", "", "x")), DocInvalid},
		{"bob edits alice's", withRec(act(update, kComment, "c1", "bob"), comment("", "", "", "evil")), DocForbidden},
		{"bob deletes alice's", act(del, kComment, "c1", "bob"), DocForbidden},
		{"bob forces alice's", forced(act(del, kComment, "c1", "bob")), DocForbidden},
		{"alice edits", withRec(act(update, kComment, "c1", "alice"), comment("", "", "", "edited")), "ok"},
		{"backend edits", withRec(act(update, kComment, "c1", ""), comment("", "", "", "by backend")), "ok"},
		{"unknown comment", act(del, kComment, "nope", ""), DocNotFound},
		{"soft delete", act(del, kComment, "c1", "alice"), "ok"},
		{"delete twice", act(del, kComment, "c1", "alice"), DocNotFound},
		{"update deleted", withRec(act(update, kComment, "c1", "alice"), comment("", "", "", "x")), DocNotFound},
		{"bob restores alice's", act(restore, kComment, "c1", "bob"), DocForbidden},
		{"restore", act(restore, kComment, "c1", ""), "ok"},
		{"restore undeleted", act(restore, kComment, "c1", ""), DocConflict},
		{"reopen open thread", act(reopen, kThread, "t1", "bob"), DocConflict},
		{"bob resolves (anyone may)", act(resolve, kThread, "t1", "bob"), "ok"},
		{"resolve twice", act(resolve, kThread, "t1", "bob"), DocConflict},
		{"reopen", act(reopen, kThread, "t1", ""), "ok"},
		{"resolve again", act(resolve, kThread, "t1", ""), "ok"},
		{"remove from archive", act(del, kThread, "t1", ""), "ok"},
		{"reopen removed", act(reopen, kThread, "t1", ""), DocNotFound},
		{"suggestion", withRec(act(create, kSugg, "", "alice"), sugg), "ok"},
		{"bob edits alice's suggestion", withRec(act(update, kSugg, "s1", "bob"), sugg), DocForbidden},
		{"bob deletes alice's suggestion", act(del, kSugg, "s1", "bob"), DocForbidden},
		{"bob forces alice's suggestion", forced(act(del, kSugg, "s1", "bob")), DocForbidden},
		{"bob accepts", act(accept, kSugg, "s1", "bob"), "ok"},
		{"reject accepted", act(reject, kSugg, "s1", ""), DocConflict},
		{"restore accepted", act(restore, kSugg, "s1", "alice"), "ok"},
		{"reject", act(reject, kSugg, "s1", ""), "ok"},
		{"force suggestion", forced(act(del, kSugg, "s1", "alice")), "ok"},
		{"restore forced", act(restore, kSugg, "s1", ""), DocNotFound},
		{"force thread", forced(act(del, kThread, "t1", "")), "ok"},
		{"client removes document", act(opsyncpb.DocAction_DOC_ACTION_REMOVE_DOCUMENT, 0, "", "alice"), DocForbidden},
	}
	h := &docHarness{t: t, d: NewDocData()}
	for _, s := range steps {
		if got := h.do(s.cmd); got != s.want {
			t.Fatalf("%s: %s, want %s", s.name, got, s.want)
		}
		switch s.name {
		case "alice comments":
			c, _ := h.d.Get(kComment, "c1", false)
			if c.GetComment().UserId != "alice" || c.GetComment().DocumentId != "doc-1" {
				t.Fatalf("a client's comment is its user's, in its document: %v", c)
			}
		case "soft delete":
			if _, ok := h.d.Get(kComment, "c1", false); ok {
				t.Fatal("a soft-deleted comment is read without include_deleted")
			}
			if c, ok := h.d.Get(kComment, "c1", true); !ok || c.GetComment().Content != "by backend" {
				t.Fatalf("include_deleted reads %v", c)
			}
		case "bob accepts":
			s, _ := h.d.Get(kSugg, "s1", true)
			if s.GetSuggestion().State != SuggestionAccepted || s.GetSuggestion().DeletedAt == 0 {
				t.Fatalf("accepted: %v, want accepted and marked deleted", s)
			}
		case "restore accepted":
			s, _ := h.d.Get(kSugg, "s1", false)
			if s.GetSuggestion().State != SuggestionOpen {
				t.Fatalf("restored suggestion state %q", s.GetSuggestion().State)
			}
		case "force thread":
			if h.d.Len() != 0 {
				t.Fatalf("a thread removed for good leaves %d records (its comments go along)", h.d.Len())
			}
		}
	}
}

func TestDocDataListAndSnapshot(t *testing.T) {
	h := &docHarness{t: t, d: NewDocData()}
	h.do(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_CREATE, Kind: kThread, Record: &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Thread{Thread: &opsyncpb.DocThread{Id: "t"}}}})
	h.do(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_CREATE, Kind: kThread, Record: &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Thread{Thread: &opsyncpb.DocThread{Id: "u"}}}})
	for _, id := range []string{"c5", "c3", "c9", "c1", "c7"} {
		if got := h.do(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_CREATE, Kind: kComment, Record: comment(id, "t", "a", id)}); got != "ok" {
			t.Fatal(got)
		}
	}
	h.do(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_CREATE, Kind: kComment, Record: comment("other", "u", "a", "x")})
	h.do(act(opsyncpb.DocAction_DOC_ACTION_DELETE, kComment, "c9", ""))
	// An update keeps a record's place.
	h.do(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_UPDATE, Kind: kComment, Id: "c5", Record: comment("", "", "", "new")})
	page := func(d *DocData, deleted bool, limit int, cursor string) ([]string, string) {
		recs, next, ref := d.List(kComment, "t", deleted, limit, cursor)
		if ref != nil {
			t.Fatal(ref)
		}
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.GetComment().Id)
		}
		return ids, next
	}
	for _, d := range []*DocData{h.d, RestoreDocData(h.d.Snapshot())} {
		var all []string
		cursor := ""
		for {
			ids, next := page(d, false, 2, cursor)
			all = append(all, ids...)
			if next == "" {
				break
			}
			cursor = next
		}
		if got, want := all, []string{"c5", "c3", "c1", "c7"}; len(got) != len(want) || got[0] != "c5" || got[1] != "c3" || got[2] != "c1" || got[3] != "c7" {
			t.Fatalf("pages: %v, want %v (creation order, no deleted, thread t only)", got, want)
		}
		if ids, _ := page(d, true, 1000, ""); len(ids) != 5 {
			t.Fatalf("include_deleted lists %v", ids)
		}
	}
	if _, _, ref := h.d.List(kComment, "", false, 10, "x"); ref == nil || ref.Code != DocInvalid {
		t.Fatalf("bad cursor: %v", ref)
	}
}

func TestDocDataBounds(t *testing.T) {
	h := &docHarness{t: t, d: NewDocData()}
	h.do(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_CREATE, Kind: kThread, Record: &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Thread{Thread: &opsyncpb.DocThread{Id: "t"}}}})
	big := string(make([]byte, 1<<20))
	n := 0
	for ; ; n++ {
		got := h.do(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_CREATE, Kind: kComment, Record: comment("c"+string(rune('A'+n%26))+string(rune('A'+n/26)), "t", "u", big)})
		if got == DocTooMany {
			break
		}
		if got != "ok" || n > 100 {
			t.Fatalf("create %d: %s", n, got)
		}
	}
	if n != MaxDocBytes>>20-1 || h.d.Bytes() > MaxDocBytes {
		t.Fatalf("refused after %d MiB comments, %d bytes kept", n, h.d.Bytes())
	}
	// Removing makes room again.
	if got := h.do(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_DELETE, Kind: kComment, Id: "cAA", Force: true}); got != "ok" {
		t.Fatal(got)
	}
	if got := h.do(&opsyncpb.DocDataCommand{Action: opsyncpb.DocAction_DOC_ACTION_CREATE, Kind: kComment, Record: comment("again", "t", "u", big)}); got != "ok" {
		t.Fatalf("after a removal: %s", got)
	}
	if r := RestoreDocData(h.d.Snapshot()); r.Bytes() != h.d.Bytes() {
		t.Fatalf("restored weighs %d, was %d", r.Bytes(), h.d.Bytes())
	}
}

func TestDocDataUnhooked(t *testing.T) {
	d := NewDocData()
	apply := func(seq uint64, e *opsyncpb.DocDataEvent) {
		t.Helper()
		if err := d.Apply(seq, &opsyncpb.Event{Kind: &opsyncpb.Event_DocData{DocData: e}}); err != nil {
			t.Fatal(err)
		}
	}
	thread := &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Thread{Thread: &opsyncpb.DocThread{Id: "t"}}}
	apply(1, &opsyncpb.DocDataEvent{Put: []*opsyncpb.DocRecord{thread}, Hook: &opsyncpb.DocHookEvent{EventId: "e1"}})
	apply(2, &opsyncpb.DocDataEvent{Put: []*opsyncpb.DocRecord{thread}, Hook: &opsyncpb.DocHookEvent{EventId: "e2"}})
	apply(3, &opsyncpb.DocDataEvent{Hooked: 1})
	if u := d.Unhooked(); len(u) != 1 || u[0].Seq != 2 || u[0].Event.EventId != "e2" {
		t.Fatalf("unhooked after hooked 1: %v", u)
	}
	r := RestoreDocData(d.Snapshot())
	if u := r.Unhooked(); len(u) != 1 || u[0].Event.EventId != "e2" {
		t.Fatalf("restored unhooked: %v", u)
	}
	apply(4, &opsyncpb.DocDataEvent{Hooked: 2})
	if len(d.Unhooked()) != 0 {
		t.Fatalf("unhooked after hooked 2: %v", d.Unhooked())
	}
}
