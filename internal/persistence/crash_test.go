package persistence_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opsync/opsync/internal/persistence"
)

// The crash test re-executes this test binary as a writer process; these
// variables switch it into that role.
const (
	crashChildDir   = "OPSYNC_JOURNAL_CHILD"
	crashChildRound = "OPSYNC_JOURNAL_CHILD_ROUND"
	crashChildSeed  = "OPSYNC_JOURNAL_CHILD_SEED"

	crashActors   = 6
	crashMaxBatch = 20
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildDir); dir != "" {
		os.Exit(crashChild(dir))
	}
	os.Exit(m.Run())
}

func crashActorID(i int) string { return fmt.Sprintf("crash-%d", i) }

// crashEvent is the content of event seq of a batch (round, first, n) of
// actor: a header the checker parses, then filler of varying length derived
// from the header, so an event the child never wrote cannot pass for one.
func crashEvent(actor string, round int, seq, first uint64, n int) []byte {
	b := fmt.Appendf(nil, "%s|%d|%d|%d|%d|", actor, round, seq, first, n)
	for i := range int(seq*37%190) + 10 {
		b = append(b, 'a'+byte((seq+uint64(i)*uint64(n))%26))
	}
	return b
}

func parseCrashEvent(e []byte) (actor string, round int, seq, first uint64, n int, err error) {
	f := strings.SplitN(string(e), "|", 6)
	if len(f) != 6 {
		return "", 0, 0, 0, 0, fmt.Errorf("not a crash-test event: %.60q", e)
	}
	actor = f[0]
	var errs [4]error
	round, errs[0] = strconv.Atoi(f[1])
	seq, errs[1] = strconv.ParseUint(f[2], 10, 64)
	first, errs[2] = strconv.ParseUint(f[3], 10, 64)
	n, errs[3] = strconv.Atoi(f[4])
	for _, e2 := range errs {
		if e2 != nil {
			return "", 0, 0, 0, 0, fmt.Errorf("bad header in %.60q: %v", e, e2)
		}
	}
	if !bytes.Equal(e, crashEvent(actor, round, seq, first, n)) {
		return "", 0, 0, 0, 0, fmt.Errorf("event %.60q differs from what the writer writes", e)
	}
	return actor, round, seq, first, n, nil
}

// crashChild appends batches of 1..crashMaxBatch events to each actor from
// a goroutine per actor, continuing after whatever the store holds, and
// prints "ack ACTOR ROUND FIRST N" once an append has returned. It runs
// until it is killed.
func crashChild(dir string) int {
	round, _ := strconv.Atoi(os.Getenv(crashChildRound))
	seed, _ := strconv.ParseUint(os.Getenv(crashChildSeed), 10, 64)
	opts := persistence.PebbleOptions{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	// Flushes and their WAL rotation happen within a round.
	persistence.SetMemTableSize(&opts, 256<<10)
	s, err := persistence.OpenPebble(dir, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	// A child whose parent is gone would write forever; a write to the
	// closed stdout pipe kills it with SIGPIPE, and this bounds the rest.
	time.AfterFunc(2*time.Minute, func() { os.Exit(4) })

	var out sync.Mutex
	fail := make(chan error)
	for a := range crashActors {
		go func() {
			actor := crashActorID(a)
			rng := rand.New(rand.NewPCG(seed, uint64(a)))
			next, err := s.HighestSeq(context.Background(), actor)
			if err != nil {
				fail <- err
				return
			}
			next++
			for {
				n := 1 + rng.IntN(crashMaxBatch)
				events := make([][]byte, n)
				for i := range events {
					events[i] = crashEvent(actor, round, next+uint64(i), next, n)
				}
				if err := s.Append(context.Background(), actor, next, events); err != nil {
					fail <- err
					return
				}
				// One write per line: lines never interleave or tear on
				// the pipe (well under PIPE_BUF).
				line := fmt.Sprintf("ack %s %d %d %d\n", actor, round, next, n)
				out.Lock()
				_, err := os.Stdout.WriteString(line)
				out.Unlock()
				if err != nil {
					fail <- err
					return
				}
				next += uint64(n)
			}
		}()
	}
	fmt.Fprintln(os.Stderr, "child:", <-fail)
	return 3
}

type crashBatch struct {
	round int
	first uint64
	n     int
}

// TestCrashKill9 kills a writer with SIGKILL while it appends, reopens the
// store and checks, Jepsen-style: no acknowledged batch is lost, every batch
// is there whole or not at all, sequence numbers have no holes, nothing is
// there that the writer did not write. Then it lets a new writer continue
// from there, kills it too, and so on.
func TestCrashKill9(t *testing.T) {
	dir := t.TempDir()
	rounds := 4
	if testing.Short() {
		rounds = 2
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	acked := make(map[string]map[uint64]crashBatch) // actor -> first -> batch
	for a := range crashActors {
		acked[crashActorID(a)] = make(map[uint64]crashBatch)
	}

	for round := 1; round <= rounds; round++ {
		killAfter := 100 + rng.IntN(500)
		n := runCrashChild(t, dir, round, rng.Uint64(), killAfter, acked)
		t.Logf("round %d: killed after reading %d acks; %d acks in all", round, killAfter, n)

		// Check through a read-only open (as `opsync journal` would see a
		// crashed node) and then through a normal one, which recovers the
		// WAL for real; both must show the same journal.
		for _, ro := range []bool{true, false} {
			s := openPebble(t, dir, persistence.PebbleOptions{ReadOnly: ro})
			recovered := checkCrashStore(t, s, round, acked)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if t.Failed() {
				t.FailNow()
			}
			if !ro {
				t.Logf("after round %d: %d batches present that were never acknowledged (in flight at a kill)", round, recovered)
			}
		}
	}
}

// runCrashChild starts a writer for round, reads acks until it has seen
// killAfter of them, kills it with SIGKILL, and records every ack it printed
// (including those still in the pipe). It returns the number of acks.
func runCrashChild(t *testing.T, dir string, round int, seed uint64, killAfter int, acked map[string]map[uint64]crashBatch) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		crashChildDir+"="+dir,
		crashChildRound+"="+strconv.Itoa(round),
		crashChildSeed+"="+strconv.FormatUint(seed, 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// Not synchronisation: a guard so a wedged child fails the test instead
	// of hanging it.
	guard := time.AfterFunc(time.Minute, func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	defer guard.Stop()

	n := 0
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var actor string
		var b crashBatch
		if _, err := fmt.Sscanf(sc.Text(), "ack %s %d %d %d", &actor, &b.round, &b.first, &b.n); err != nil || b.round != round || acked[actor] == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			_ = cmd.Wait()
			t.Fatalf("bad line from child: %q (%v)", sc.Text(), err)
		}
		acked[actor][b.first] = b
		n++
		if n == killAfter && !killed {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !killed || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: child ended on its own after %d acks (%v); stderr:\n%s", round, n, err, stderr.String())
	}
	return n
}

// checkCrashStore checks every actor's journal against the acks, and
// returns how many stored batches were never acknowledged.
func checkCrashStore(t *testing.T, s *persistence.PebbleStore, round int, acked map[string]map[uint64]crashBatch) (recovered int) {
	t.Helper()
	for a := range crashActors {
		actor := crashActorID(a)
		present := make(map[uint64]crashBatch)
		var cur crashBatch
		next := uint64(1) // the seq the next event must have: no holes
		lastRound := 0
		highest, err := s.Replay(bg, actor, 1, persistence.MaxSeq, -1, func(seq uint64, e []byte) error {
			id, r, eseq, first, n, err := parseCrashEvent(e)
			switch {
			case err != nil:
				return fmt.Errorf("seq %d: %w", seq, err)
			case id != actor || eseq != seq:
				return fmt.Errorf("seq %d holds event %d of %q", seq, eseq, id)
			case seq != next:
				return fmt.Errorf("hole: seq %d follows %d", seq, next-1)
			case r > round || r < lastRound:
				return fmt.Errorf("seq %d: round %d out of order (after %d, now %d)", seq, r, lastRound, round)
			}
			if seq == first {
				if cur.n != 0 && cur.first+uint64(cur.n) != seq {
					return fmt.Errorf("batch at %d of %d events is cut short at %d", cur.first, cur.n, seq-1)
				}
				cur = crashBatch{round: r, first: first, n: n}
				present[first] = cur
			} else if (crashBatch{round: r, first: first, n: n}) != cur {
				return fmt.Errorf("seq %d claims batch %+v inside batch %+v", seq, crashBatch{r, first, n}, cur)
			}
			lastRound = r
			next++
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", actor, err)
			continue
		}
		if cur.n != 0 && cur.first+uint64(cur.n) != next {
			t.Errorf("%s: last batch at %d of %d events is partial: ends at %d", actor, cur.first, cur.n, next-1)
		}
		if highest != next-1 {
			t.Errorf("%s: highest %d, but events run to %d", actor, highest, next-1)
		}
		for first, b := range acked[actor] {
			if p, ok := present[first]; !ok || p != b {
				t.Errorf("%s: acknowledged batch %+v lost (found %+v, %v)", actor, b, p, ok)
			}
		}
		// Each writer awaits one append before starting the next, so an
		// unacknowledged batch can only be the last of its round: the one
		// in flight at the kill.
		unacked := 0
		for first, b := range present {
			if _, ok := acked[actor][first]; !ok {
				unacked++
				if after, ok := present[b.first+uint64(b.n)]; ok && after.round == b.round {
					t.Errorf("%s: unacknowledged batch %+v is followed by %+v of the same round", actor, b, after)
				}
			}
		}
		recovered += unacked
	}
	return recovered
}
