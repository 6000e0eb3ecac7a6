package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// TestConsoleNodeSet: the Node set page of a node of a 3-node raft set
// shows its members, the raft state, the leader among the voters, and the
// commit / applied indexes, and follows them live: a write raises the
// commit index, and when a node stops the page shows the members left and
// the leader the set agrees on, without a reload.
func TestConsoleNodeSet(t *testing.T) {
	set := newNodeSet(t, 3, loopbackLayout(t, 3))
	b := newBrowser(t)
	tab := b.tab
	b.signIn(tab, set.url(0), adminToken, "ops")
	b.goTo(tab, "nodes")
	b.do(tab, "the node set",
		untilJS(`document.querySelectorAll('#nodes-voters tbody tr').length === 3 && document.querySelectorAll('#nodes-members tbody tr').length === 3`))
	field := func(name string) string {
		t.Helper()
		return strings.TrimSpace(strings.TrimPrefix(b.text(tab, fmt.Sprintf(`#nodes-status tr[data-field="%s"] td`, name)), name))
	}
	if j := field("Journal"); j != "raft" {
		t.Fatalf("journal shown: %q, want raft", j)
	}
	if st := field("Raft state"); st != "Leader" && st != "Follower" {
		t.Fatalf("raft state shown: %q", st)
	}
	if n := field("This node"); n != set.nodes[0].remote {
		t.Fatalf("this node shown: %q, want %s", n, set.nodes[0].remote)
	}
	leader := set.nodes[set.leader(0)].remote
	if l := field("Leader"); l != leader {
		t.Fatalf("leader shown: %q, want %s", l, leader)
	}
	marked := eval[[]string](b, tab, `[...document.querySelectorAll('#nodes-voters tbody tr')].filter(r => r.textContent.endsWith('leader')).map(r => r.dataset.voter)`)
	if len(marked) != 1 || marked[0] != leader {
		t.Fatalf("voters marked leader: %v, want %s alone", marked, leader)
	}
	if m := b.text(tab, fmt.Sprintf(`#nodes-members tr[data-member="%s"]`, set.nodes[0].remote)); !strings.Contains(m, "(this node)") {
		t.Fatalf("this node's member row: %q", m)
	}
	commit, err := strconv.ParseUint(field("Commit index"), 10, 64)
	if err != nil || commit == 0 {
		t.Fatalf("commit index shown: %q", field("Commit index"))
	}
	if _, err := strconv.ParseUint(field("Applied index"), 10, 64); err != nil {
		t.Fatalf("applied index shown: %q", field("Applied index"))
	}
	b.shot(tab, "14-nodes-raft")

	// A write goes through raft: the page's commit index rises by itself.
	putBizType(t, set.url(0), "ws_nodes", "chat", map[string]any{})
	b.do(tab, "the commit index to rise", untilJS(fmt.Sprintf(
		`Number(document.querySelector('#nodes-status tr[data-field="Commit index"] td').textContent) > %d`, commit)))

	// A node stops (the leader, unless that is the node the page asks):
	// the page follows the members and the leader the set agrees on.
	victim := set.leader(0)
	if victim == 0 {
		victim = 1
	}
	set.stop(victim)
	survivors := []int{}
	for _, i := range set.all() {
		if i != victim {
			survivors = append(survivors, i)
		}
	}
	set.waitReady(survivors...)
	leader = set.nodes[set.leader(0)].remote
	b.do(tab, "the page to follow the set", untilJS(fmt.Sprintf(
		`document.querySelectorAll('#nodes-members tbody tr').length === 2 && !document.querySelector('#nodes-members tr[data-member="%s"]') && document.querySelector('#nodes-status tr[data-field="Leader"] td').textContent === %s`,
		set.nodes[victim].remote, js(leader))))
	if n := eval[int](b, tab, `document.querySelectorAll('#nodes-voters tbody tr').length`); n != 3 {
		t.Fatalf("%d voters shown after a node stopped, want 3 (it stays a voter until removed)", n)
	}
	if row := b.text(tab, fmt.Sprintf(`#nodes-voters tr[data-voter="%s"]`, set.nodes[victim].remote)); !strings.Contains(row, "not a member now") {
		t.Fatalf("the stopped node's voter row: %q", row)
	}
	b.shot(tab, "15-nodes-raft-stopped")
}
