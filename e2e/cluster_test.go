package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsync/opsync/client"
)

// A node of a 3-node set dies by kill -9 while pushes and tailing clients
// run on every node; clients resume on the survivors; the node restarts,
// catches up and serves again. Afterwards every push answered SUCCESS has
// been delivered, in each writer's order, and no message twice once
// redeliveries of one oplog id are set aside.
func TestSetSurvivesKill9OfAFollower(t *testing.T) { testSetSurvivesKill9(t, false) }

// The same with the raft leader as the victim.
func TestSetSurvivesKill9OfTheLeader(t *testing.T) { testSetSurvivesKill9(t, true) }

func testSetSurvivesKill9(t *testing.T, killLeader bool) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	set := newNodeSet(t, 3, loopbackLayout(t, 3), "--retry-interval", "2s")
	const inst, biz, users = "ws_SET", "EVENTS", 6
	// Multi-device: each device has its own sync point, so that a new
	// device at the end reads the whole stream.
	putBizType(t, set.url(0), inst, biz, map[string]any{"target": "user", "multiDevice": true})
	key := apiKey(t, set.url(0), inst)

	// One tailing client per user, first on node u%3, resuming on the
	// others when its node dies.
	readers := make([]*setReader, users)
	for u := range readers {
		readers[u] = startSetReader(t, set, inst, biz, fmt.Sprintf("u%d", u), u%3)
	}

	w := startSetWriters(t, set, inst, biz, key, users)
	w.waitAcked(t, 300)

	victim := set.leader(0)
	if !killLeader {
		victim = (victim + 1) % 3
	}
	t.Logf("kill -9 node %d (leader: %v) after %d acknowledged pushes", victim, killLeader, w.ackedCount())
	set.kill9(victim)
	survivors := []int{(victim + 1) % 3, (victim + 2) % 3}
	// Every user's pushes are acknowledged again without the victim: the
	// streams that lived on it activated on a survivor, from the journal.
	w.waitEachAcked(t, 50)
	set.waitReady(survivors...)

	set.start(victim)
	set.waitReady(0, 1, 2)
	set.waitCaughtUp(victim, set.leader(victim))
	w.waitAcked(t, w.ackedCount()+100)
	w.stop()

	// The restarted node serves again: the sentinels go through it. A
	// stream activating there right after the restart may still be waiting
	// for its read barrier and answer SYSTEM_ERROR; a pusher retries that
	// with the same thirdMsgId (stored once), as README says.
	for u := range readers {
		deadline := time.Now().Add(60 * time.Second)
		for {
			st, a := push(t, set.url(victim), inst, map[string]any{"bizType": biz, "linkToken": fmt.Sprintf("u%d", u), "thirdMsgId": "sentinel", "payload": "end"})
			if st == 200 && (a.Msg == "SUCCESS" || a.Msg == "DUPLICATED_BIZ_ID") {
				break
			}
			if st != 200 || a.Msg != "SYSTEM_ERROR" || time.Now().After(deadline) {
				t.Fatalf("sentinel for u%d through the restarted node: %d %+v", u, st, a)
			}
		}
	}
	for u, r := range readers {
		r.waitSentinel(t)
		r.check(t, w.ackedOf(u), w.attemptedOf(u))
	}
	// A new device of each user on the restarted node reads the user's
	// whole stream from the journal: what was acknowledged while the node
	// was down is there, under the oplog ids the pushes were told.
	for u := range readers {
		fresh := startSetReader(t, set, inst, biz, fmt.Sprintf("u%d", u), victim)
		fresh.waitSentinel(t)
		fresh.check(t, w.ackedOf(u), w.attemptedOf(u))
	}
	t.Logf("acknowledged %d, attempted %d", w.ackedCount(), w.attemptedCount())
}

// setWriters push, one sequential writer per user, with increasing
// message ids; a writer whose node fails moves to the next node.
type setWriters struct {
	mu        sync.Mutex
	acked     []map[string]uint64 // message id -> the oplog id its SUCCESS named
	attempted []map[string]bool
	n         int
	changed   chan struct{}
	done      chan struct{}
	wg        sync.WaitGroup
}

func startSetWriters(t *testing.T, set *nodeSet, inst, biz, key string, users int) *setWriters {
	w := &setWriters{changed: make(chan struct{}, 1), done: make(chan struct{})}
	httpc := &http.Client{Timeout: 20 * time.Second}
	for u := 0; u < users; u++ {
		w.acked = append(w.acked, map[string]uint64{})
		w.attempted = append(w.attempted, map[string]bool{})
		w.wg.Add(1)
		go func(u int) {
			defer w.wg.Done()
			target := u % 3
			for i := 0; ; i++ {
				select {
				case <-w.done:
					return
				default:
				}
				id := fmt.Sprintf("u%d-%06d", u, i)
				w.mu.Lock()
				w.attempted[u][id] = true
				w.mu.Unlock()
				base := set.url(target)
				var oplog uint64
				ok := false
				if base != "" {
					oplog, ok = pushAcked(httpc, base, inst, key, biz, fmt.Sprintf("u%d", u), id)
				}
				if !ok {
					target = (target + 1) % 3
					continue
				}
				w.mu.Lock()
				w.acked[u][id] = oplog
				w.n++
				w.mu.Unlock()
				select {
				case w.changed <- struct{}{}:
				default:
				}
			}
		}(u)
	}
	t.Cleanup(w.stop)
	return w
}

// pushOnce reports whether a push was answered SUCCESS.
func pushOnce(httpc *http.Client, base, inst, key, biz, user, id string) bool {
	_, ok := pushAcked(httpc, base, inst, key, biz, user, id)
	return ok
}

// pushAcked pushes and returns the oplog id of a SUCCESS answer.
func pushAcked(httpc *http.Client, base, inst, key, biz, user, id string) (uint64, bool) {
	a, err := pushWith(httpc, base, inst, key, biz, user, id)
	return a.OplogID, err == nil && a.Msg == "SUCCESS"
}

// pushWith pushes thirdMsgId id (its own payload) to user with the
// instance's key and returns the answer. It does not fail the test, so
// goroutines may call it.
func pushWith(httpc *http.Client, base, inst, key, biz, user, id string) (pushAnswer, error) {
	var a pushAnswer
	body, _ := json.Marshal(map[string]string{"bizType": biz, "linkToken": user, "thirdMsgId": id, "payload": id})
	req, _ := http.NewRequest(http.MethodPost, base+"/webapi/sync/single?instanceId="+url.QueryEscape(inst), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Opsync-Api-Key", key)
	resp, err := httpc.Do(req)
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return a, fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	return a, nil
}

func (w *setWriters) stop() {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	w.wg.Wait()
}

func (w *setWriters) ackedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

func (w *setWriters) attemptedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, a := range w.attempted {
		n += len(a)
	}
	return n
}

// waitAcked waits until n pushes in all were acknowledged.
func (w *setWriters) waitAcked(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(90 * time.Second)
	for w.ackedCount() < n {
		select {
		case <-w.changed:
		case <-deadline:
			t.Fatalf("only %d of %d pushes acknowledged within 90s", w.ackedCount(), n)
		}
	}
}

// waitEachAcked waits until every writer has n more acknowledged pushes
// than when the wait began.
func (w *setWriters) waitEachAcked(t *testing.T, n int) {
	t.Helper()
	w.mu.Lock()
	base := make([]int, len(w.acked))
	for u, a := range w.acked {
		base[u] = len(a)
	}
	w.mu.Unlock()
	deadline := time.After(90 * time.Second)
	for {
		w.mu.Lock()
		behind := -1
		for u, a := range w.acked {
			if len(a) < base[u]+n {
				behind = u
				break
			}
		}
		w.mu.Unlock()
		if behind < 0 {
			return
		}
		select {
		case <-w.changed:
		case <-deadline:
			t.Fatalf("writer u%d: fewer than %d more pushes acknowledged within 90s", behind, n)
		}
	}
}

func (w *setWriters) ackedOf(u int) map[string]uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]uint64{}
	for k, v := range w.acked[u] {
		out[k] = v
	}
	return out
}

func (w *setWriters) attemptedOf(u int) map[string]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]bool{}
	for k := range w.attempted[u] {
		out[k] = true
	}
	return out
}

// setReader is a client of one user that may move between nodes.
type setReader struct {
	user     string
	mu       sync.Mutex
	got      []client.Message
	seen     map[uint64]bool
	sentinel chan struct{}
	once     sync.Once
}

func startSetReader(t *testing.T, set *nodeSet, inst, biz, user string, first int) *setReader {
	t.Helper()
	var servers []string
	for k := 1; k < len(set.nodes); k++ {
		if u := set.url((first + k) % len(set.nodes)); u != "" {
			servers = append(servers, u)
		}
	}
	r := &setReader{user: user, seen: map[uint64]bool{}, sentinel: make(chan struct{})}
	up := make(chan struct{})
	var upOnce sync.Once
	c, err := client.New(client.Options{
		Server: set.url(first), Servers: servers, InstanceID: inst,
		StateFile: filepath.Join(t.TempDir(), "state.json"), MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		PingInterval: time.Second,
		OnStateChange: func(connected bool) {
			if connected {
				upOnce.Do(func() { close(up) })
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RegisterBiz(biz, func(m client.Message) {
		r.mu.Lock()
		if !r.seen[m.OplogID] { // a redelivery of an oplog id is set aside
			r.seen[m.OplogID] = true
			r.got = append(r.got, m)
		}
		r.mu.Unlock()
		c.ReportMsgReceived(m)
		if m.ThirdMsgID == "sentinel" {
			r.once.Do(func() { close(r.sentinel) })
		}
	}); err != nil {
		t.Fatal(err)
	}
	goOnline(t, c, user, up)
	return r
}

func (r *setReader) waitSentinel(t *testing.T) {
	t.Helper()
	select {
	case <-r.sentinel:
	case <-time.After(90 * time.Second):
		r.mu.Lock()
		n := len(r.got)
		r.mu.Unlock()
		t.Fatalf("client of %s: no sentinel within 90s (%d messages read)", r.user, n)
	}
}

// check applies the lost-acknowledged-write check to what the reader got
// before its sentinel: nothing acknowledged is missing, each arrived
// under the oplog id its SUCCESS named (when known, non-zero), nothing
// arrived that was never sent or twice under two oplog ids, and the
// writer's order holds.
func (r *setReader) check(t *testing.T, acked map[string]uint64, attempted map[string]bool) {
	t.Helper()
	r.mu.Lock()
	got := append([]client.Message(nil), r.got...)
	r.mu.Unlock()
	read := map[string]uint64{}
	last := -1
	for _, m := range got {
		if m.ThirdMsgID == "sentinel" {
			break
		}
		if !attempted[m.ThirdMsgID] || m.Payload != m.ThirdMsgID {
			t.Fatalf("%s: delivered %q (oplog %d), never sent", r.user, m.ThirdMsgID, m.OplogID)
		}
		if prev, dup := read[m.ThirdMsgID]; dup {
			t.Fatalf("%s: %s delivered under oplog ids %d and %d", r.user, m.ThirdMsgID, prev, m.OplogID)
		}
		read[m.ThirdMsgID] = m.OplogID
		n, _ := strconv.Atoi(m.ThirdMsgID[strings.IndexByte(m.ThirdMsgID, '-')+1:])
		if n <= last {
			t.Fatalf("%s: %s delivered after message %d", r.user, m.ThirdMsgID, last)
		}
		last = n
	}
	var lost []string
	for id, oplog := range acked {
		got, ok := read[id]
		if !ok {
			lost = append(lost, id)
		} else if oplog != 0 && got != oplog {
			t.Fatalf("%s: %s acknowledged as oplog %d, delivered as oplog %d", r.user, id, oplog, got)
		}
	}
	if len(lost) > 0 {
		sort.Strings(lost)
		t.Fatalf("%s: %d acknowledged pushes never delivered (of %d acknowledged, %d read): %v", r.user, len(lost), len(acked), len(read), lost[:min(len(lost), 10)])
	}
}

// Every node takes pushes and client connections: entries pushed through
// any node reach clients attached to every node, in order, whichever node
// their stream actor lives on.
func TestSetDeliversAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	set := newNodeSet(t, 3, loopbackLayout(t, 3))
	const inst, biz = "ws_ACROSS", "EVENTS"
	putBizType(t, set.url(1), inst, biz, map[string]any{"target": "user", "multiDevice": true})
	var readers []*setReader
	for u := 0; u < 4; u++ {
		for n := 0; n < 3; n++ { // one device of each user on each node
			readers = append(readers, startSetReader(t, set, inst, biz, fmt.Sprintf("a%d", u), n))
		}
	}
	for i := 0; i < 6; i++ {
		for u := 0; u < 4; u++ {
			id := fmt.Sprintf("a%d-%06d", u, i)
			pushOK(t, set.url(i%3), inst, biz, fmt.Sprintf("a%d", u), id, "payload", id)
		}
	}
	for u := 0; u < 4; u++ {
		pushOK(t, set.url(u%3), inst, biz, fmt.Sprintf("a%d", u), "sentinel")
	}
	for _, r := range readers {
		r.waitSentinel(t)
		want, sent := map[string]uint64{}, map[string]bool{}
		for i := 0; i < 6; i++ {
			id := fmt.Sprintf("%s-%06d", r.user, i)
			want[id], sent[id] = 0, true
		}
		r.check(t, want, sent)
	}
	// The acks flowed back from every node to the stream, wherever it
	// lives: every entry counts as arrived, and the stream knows the
	// user's three devices as connected.
	for u := 0; u < 4; u++ {
		user := fmt.Sprintf("a%d", u)
		waitFor(t, user+"'s acks to reach its stream", 30*time.Second, func() bool {
			rec := records(t, set.url((u+1)%3), inst, "users", user)
			return rec.Pushes == 7 && rec.Arrivals == 7 && len(rec.ConnectedDevices) == 3
		})
	}
}

// A coordinated kill -9 of every node of a set right after acknowledged
// pushes, then a restart of all: every push acknowledged was on disk on a
// majority before its SUCCESS, so each is read back, under its oplog id.
// (A single kill leaves a majority running, so it cannot tell a journal
// that acknowledges before its fsync from one that does not; this can.)
func TestSetSurvivesKill9OfEveryNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	set := newNodeSet(t, 3, loopbackLayout(t, 3))
	const inst, biz, users = "ws_ALLDOWN", "EVENTS", 6
	putBizType(t, set.url(0), inst, biz, map[string]any{"target": "user", "multiDevice": true})
	key := apiKey(t, set.url(0), inst)

	w := startSetWriters(t, set, inst, biz, key, users)
	w.waitAcked(t, 600)
	var killed sync.WaitGroup
	for _, i := range set.all() {
		killed.Add(1)
		go func() { defer killed.Done(); set.kill9(i) }()
	}
	killed.Wait()
	w.stop()
	t.Logf("killed every node with writes in flight after %d acknowledged pushes", w.ackedCount())

	for _, i := range set.all() {
		set.start(i)
	}
	set.waitReady(set.all()...)
	for u := 0; u < users; u++ {
		deadline := time.Now().Add(60 * time.Second)
		for {
			st, a := push(t, set.url(u%3), inst, map[string]any{"bizType": biz, "linkToken": fmt.Sprintf("u%d", u), "thirdMsgId": "sentinel", "payload": "end"})
			if st == 200 && a.Msg == "SUCCESS" {
				break
			}
			if st != 200 || a.Msg != "SYSTEM_ERROR" || time.Now().After(deadline) {
				t.Fatalf("sentinel for u%d after the restart: %d %+v", u, st, a)
			}
		}
	}
	for u := 0; u < users; u++ {
		r := startSetReader(t, set, inst, biz, fmt.Sprintf("u%d", u), u%3)
		r.waitSentinel(t)
		r.check(t, w.ackedOf(u), w.attemptedOf(u))
	}
}
