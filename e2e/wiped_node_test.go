package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// A node loses its disk's contents (kill -9, data directory wiped) while
// the majority survives: restarted on an empty directory with its usual
// command line, it rebuilds its replica from the others, and its own
// Pebble then holds every acknowledged entry at the oplog id its push was
// told (read offline with `opsync journal dump` after a graceful stop).
func TestSetRebuildsAWipedNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	set := newNodeSet(t, 3, loopbackLayout(t, 3))
	const inst, biz = "ws_WIPED", "EVENTS"
	putBizType(t, set.url(0), inst, biz, map[string]any{"target": "user"})
	acked := map[string]map[string]uint64{} // user -> message id -> oplog id
	push := func(round int) {
		for u := 0; u < 3; u++ {
			user := fmt.Sprintf("w%d", u)
			if acked[user] == nil {
				acked[user] = map[string]uint64{}
			}
			id := fmt.Sprintf("%s-%06d", user, round)
			acked[user][id] = pushOK(t, set.url((round+u)%3), inst, biz, user, id, "payload", id)
		}
	}
	for round := 0; round < 40; round++ {
		push(round)
	}

	victim := (set.leader(0) + 1) % 3
	dir := set.nodes[victim].dataDir
	set.kill9(victim)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for round := 40; round < 60; round++ {
		for u := 0; u < 3; u++ {
			user := fmt.Sprintf("w%d", u)
			id := fmt.Sprintf("%s-%06d", user, round)
			acked[user][id] = pushUntilStored(t, set.url((victim+1+u%2)%3), inst, biz, user, id)
		}
	}

	set.start(victim)
	set.waitReady(0, 1, 2)
	leader := set.leader(victim)
	set.waitCaughtUp(victim, leader)
	before, _ := set.status(victim)
	lst, _ := set.status(leader)
	// A graceful stop: the replica's writes are not fsynced one by one
	// (raft's log is the durable copy, replayed into the replica at the
	// next start), so an offline read right after kill -9 could miss the
	// newest; closing the node writes them out.
	set.stop(victim)
	for user, want := range acked {
		out, errOut, code := run(t, "journal", "--data", dir, "dump", "stream:"+inst+"/u/"+user)
		if code != 0 {
			actors, _, _ := run(t, "journal", "--data", dir, "list")
			t.Fatalf("journal dump of %s on the rebuilt node: exit %d: %s\nrebuilt node's status before its stop: %+v\nleader %d's: %+v\nits journal's actors:\n%s",
				user, code, errOut, before, leader, lst, actors)
		}
		got := map[string]uint64{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var l struct {
				Seq   uint64 `json:"seq"`
				Event struct {
					EntryAppended *struct {
						ThirdMsgID string `json:"thirdMsgId"`
					} `json:"entryAppended"`
				} `json:"event"`
			}
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("dump line %q: %v", line, err)
			}
			if e := l.Event.EntryAppended; e != nil {
				got[e.ThirdMsgID] = l.Seq
			}
		}
		for id, oplog := range want {
			if got[id] != oplog {
				t.Fatalf("%s: %s acknowledged as oplog %d; the rebuilt replica has it at %d (0: missing)", user, id, oplog, got[id])
			}
		}
	}
}

// pushUntilStored pushes id until the answer says it is stored (SUCCESS,
// or DUPLICATED_BIZ_ID when an earlier try that answered SYSTEM_ERROR
// during a failover was stored after all) and returns its oplog id.
func pushUntilStored(t *testing.T, base, inst, biz, user, id string) uint64 {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, a := push(t, base, inst, map[string]any{"bizType": biz, "linkToken": user, "thirdMsgId": id, "payload": id})
		if st == 200 && (a.Msg == "SUCCESS" || a.Msg == "DUPLICATED_BIZ_ID") && a.OplogID != 0 {
			return a.OplogID
		}
		if time.Now().After(deadline) {
			t.Fatalf("push %s not stored within 60s: %d %+v", id, st, a)
		}
	}
}
