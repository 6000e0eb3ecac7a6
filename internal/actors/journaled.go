package actors

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/metrics"
	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// journaled is the persistent-actor core every kind shares (streams,
// instances, the registry, and each family's actor): it recovers the state
// from the latest snapshot and the journal after the read barrier, writes
// the events its actor persists as one group-commit append at a time with
// the expected sequence number, applies them to the state only once they
// are durable, takes snapshots and trims the journal below them, and fails
// and stops on a journal error so that the next message activates the
// actor anew from what is stored.
//
// Journal IO never runs on the actor's message loop after recovery:
// appends, snapshots, range deletes and reads run in goroutines and send
// their outcome back as a message (appendDone, sideDone, readDone), which
// the actor passes to receive. Under the replicated journal each of those
// is a consensus round trip; none of them stalls the actor's other
// messages.
//
// A kind is its state type (pure Apply in package state), its events, and
// its command handlers; S is the state type.
type journaled[S eventSourced] struct {
	deps    *Deps
	kind    string
	journal string
	log     *slog.Logger
	self    *actor.PID
	root    *actor.RootContext

	state   S
	highest uint64 // the journal's highest seq, >= state.LastSeq()
	failed  bool

	writing   bool
	queue     []*pending
	sinceSnap int
	// sinceSnapBytes is what the events since the last snapshot weigh
	// encoded, lastSnapBytes what that snapshot did (0 before the first
	// of this activation). See snapshotDue.
	sinceSnapBytes int
	lastSnapBytes  int

	side     []sideJob // journal side work, run in order
	sideBusy bool
	reads    int // reads under way

	// snapshot encodes the state as its snapshot message.
	snapshot func(S) proto.Message
	// keep lists, ascending, the seqs the journal must keep below a
	// snapshot (a stream's retained entries: their payloads are read from
	// the journal); nil keeps nothing. See journaled_trim.go.
	keep func(S) []uint64
	// trimmed is the seq up to which this activation's trims deleted what
	// the journal need not keep.
	trimmed uint64
	// applied runs after a batch of events was stored and applied, and
	// each one's done was called.
	applied func(ctx actor.Context, batch []*pending)
}

// eventSourced is the state of a persistent actor as the core sees it.
type eventSourced interface {
	LastSeq() uint64
	Apply(seq uint64, ev *opsyncpb.Event) error
}

// pending is an event an actor persists.
type pending struct {
	ev *opsyncpb.Event
	// stamp, if set, is called with the event's sequence number when the
	// event joins an append, before it is encoded: a stream writes the
	// oplog id into its entry then.
	stamp func(seq uint64)
	// done, if set, is called once: after the event is durable and
	// applied (err nil), or with the error that failed it.
	done func(ctx actor.Context, seq uint64, err error)
}

// appendDone is what a finished journal append sends back to its actor.
type appendDone struct {
	batch []*pending
	first uint64
	bytes int // the batch's events encoded
	err   error
}

// sideJob is journal work whose outcome no caller waits for: saving a
// snapshot, trimming, range deletes.
type sideJob struct {
	what string
	run  func(ctx context.Context, store persistence.Store) error
}

// sideDone is what a finished run of side jobs sends back.
type sideDone struct{}

// readDone carries a journal read's result back to the actor's loop.
type readDone struct {
	value any
	err   error
	then  func(ctx actor.Context, value any, err error)
}

func newJournaled[S eventSourced](deps *Deps, kind string, snapshot func(S) proto.Message) *journaled[S] {
	return &journaled[S]{deps: deps, kind: kind, snapshot: snapshot, log: deps.Logger}
}

// recover rebuilds the state of the actor ctx belongs to from its journal
// (the identity comes from the cluster, never the PID, so that every
// activation on any node finds the same journal). On failure the actor is
// failed; the caller stops it.
func (j *journaled[S]) recover(ctx actor.Context, init *cluster.ClusterInit, empty func() S, restore func([]byte) (S, error)) error {
	j.self, j.root = ctx.Self(), ctx.ActorSystem().Root
	j.journal = JournalID(j.kind, init.Identity.Identity)
	j.log = j.deps.Logger.With(slog.String("actor", j.journal))
	metrics.Activations.WithLabelValues(j.kind).Inc()
	began := time.Now()
	state, highest, err := recoverState(context.Background(), j.deps.Store, j.journal, empty, restore)
	j.state, j.highest = state, highest
	if err != nil {
		j.log.Error("recovery failed", slog.Any("err", err), slog.Duration("took", time.Since(began)))
		j.failed = true
		return err
	}
	// Recovery waits for the journal's read barrier: after a failover its
	// time is part of how long the actor's callers wait.
	j.log.Debug("recovered", slog.Uint64("seq", highest), slog.Duration("took", time.Since(began)))
	return nil
}

// persist queues an event for the next append, which flush starts (an
// append's completion starts the next); an event persisted to a failed
// actor is answered with errActorFailed at once.
func (j *journaled[S]) persist(ctx actor.Context, p *pending) {
	if j.failed {
		if p.done != nil {
			p.done(ctx, 0, errActorFailed)
		}
		return
	}
	j.queue = append(j.queue, p)
}

// errActorFailed answers events persisted to an actor that has failed.
var errActorFailed = fmt.Errorf("actor failed: its journal refused a write or could not be read")

// flush starts an append of the queued events, at most MaxBatch of them,
// unless one is under way.
func (j *journaled[S]) flush() {
	if j.writing || len(j.queue) == 0 || j.failed {
		return
	}
	n := min(len(j.queue), j.deps.MaxBatch)
	batch := j.queue[:n:n]
	j.queue = j.queue[n:]
	first := j.highest + 1
	data := make([][]byte, n)
	var err error
	size := 0
	for i, p := range batch {
		if p.stamp != nil {
			p.stamp(first + uint64(i))
		}
		if data[i], err = proto.Marshal(p.ev); err != nil {
			break
		}
		size += len(data[i])
	}
	j.writing = true
	if err != nil {
		j.root.Send(j.self, &appendDone{batch: batch, first: first, err: err})
		return
	}
	store, journal, self, root := j.deps.Store, j.journal, j.self, j.root
	journalIO.run(func() {
		err := store.Append(context.Background(), journal, first, data)
		root.Send(self, &appendDone{batch: batch, first: first, bytes: size, err: err})
	})
}

// receive handles the core's own messages; false for any other.
func (j *journaled[S]) receive(ctx actor.Context) bool {
	switch m := ctx.Message().(type) {
	case *appendDone:
		j.onAppendDone(ctx, m)
	case *sideDone:
		j.sideBusy = false
		j.runSide()
	case *readDone:
		j.reads--
		m.then(ctx, m.value, m.err)
	default:
		return false
	}
	return true
}

func (j *journaled[S]) onAppendDone(ctx actor.Context, m *appendDone) {
	j.writing = false
	if m.err != nil {
		j.log.Error("journal append failed", slog.Any("err", m.err))
		j.fail(ctx, m.batch, m.err)
		return
	}
	j.highest = m.first + uint64(len(m.batch)) - 1
	for i, p := range m.batch {
		seq := m.first + uint64(i)
		if err := j.state.Apply(seq, p.ev); err != nil {
			j.log.Error("apply failed", slog.Uint64("seq", seq), slog.Any("err", err))
			j.fail(ctx, m.batch[i:], err)
			return
		}
		if p.done != nil {
			p.done(ctx, seq, nil)
		}
	}
	if j.applied != nil {
		j.applied(ctx, m.batch)
	}
	j.sinceSnap += len(m.batch)
	j.sinceSnapBytes += m.bytes
	if j.snapshotDue() {
		j.takeSnapshot()
	}
	j.flush()
}

// snapshotDue: SnapshotEvery events since the last snapshot, and as many
// bytes of events as that snapshot weighed. A snapshot is the whole state
// (a stream's: its entry index, every retained entry's reference), so
// taking one every SnapshotEvery events would write O(state) per
// SnapshotEvery events: a stream with 40,000 retained entries wrote a
// 3 MB snapshot every 50 events in the set soak, and the raft log grew at
// ~6 KB per event. Waiting for as many bytes of events as the last
// snapshot bounds what snapshots write by what the events wrote (at most
// twice the journal's own bytes) and what a recovery replays after the
// snapshot by the snapshot's size.
func (j *journaled[S]) snapshotDue() bool {
	return j.sinceSnap >= j.deps.SnapshotEvery && j.sinceSnapBytes >= j.lastSnapBytes
}

// takeSnapshot encodes the state now (on the loop, so that it is
// consistent) and stores it, then trims the journal below it, off the
// loop.
func (j *journaled[S]) takeSnapshot() {
	seq := j.state.LastSeq()
	var keep []uint64
	if j.keep != nil {
		keep = j.keep(j.state)
	}
	j.snapshotAndTrim("snapshot", trimRanges(keep, j.trimmed, seq), true)
}

// removeJournal removes the actor's journal once the event that ends its
// life (a deletion) is durable and applied: every event, and every
// snapshot but, with keepTombstone, one of the state now (a deleted
// entity's tombstone: what it must remember of itself, e.g. its last
// version). Without one, the journal keeps nothing but its highest seq
// (which deletes never lower), and the actor recovers as one never
// written. The order (snapshot, then events, then that snapshot) leaves
// the deleted state at every step, so a crash at any point recovers it and
// a later removal finishes the job.
func (j *journaled[S]) removeJournal(keepTombstone bool) {
	// From 1, whatever earlier trims did: nothing is kept.
	j.snapshotAndTrim("journal removal", trimRanges(nil, 0, j.state.LastSeq()), keepTombstone)
}

// snapshotAndTrim stores a snapshot of the state now (encoded on the
// loop, so that it is consistent) and deletes older snapshots and the
// events of trim, off the loop; without keep, that snapshot too, last.
func (j *journaled[S]) snapshotAndTrim(what string, trim []persistence.SeqRange, keep bool) {
	j.sinceSnap, j.sinceSnapBytes = 0, 0
	seq := j.state.LastSeq()
	data, err := proto.Marshal(j.snapshot(j.state))
	if err != nil {
		j.log.Warn(what+": snapshot encoding failed", slog.Any("err", err))
		return
	}
	j.lastSnapBytes = len(data)
	// Taken as done now: a trim that fails is made good by the next
	// activation's first.
	j.trimmed = seq
	j.sideWork(what, func(ctx context.Context, store persistence.Store) error {
		if err := store.SaveSnapshot(ctx, j.journal, seq, data); err != nil {
			return err
		}
		if seq > 1 {
			if err := store.DeleteSnapshots(ctx, j.journal, 0, seq-1); err != nil {
				return err
			}
		}
		// Recovery starts from the snapshot: the events it covers are
		// needed no more, except those kept (journaled_trim.go).
		if len(trim) > 0 {
			if err := store.DeleteRanges(ctx, j.journal, trim); err != nil {
				return err
			}
		}
		if !keep {
			return store.DeleteSnapshots(ctx, j.journal, seq, seq)
		}
		return nil
	})
}

// sideWork queues journal work that runs off the loop, in order.
func (j *journaled[S]) sideWork(what string, run func(ctx context.Context, store persistence.Store) error) {
	j.side = append(j.side, sideJob{what: what, run: run})
	j.runSide()
}

func (j *journaled[S]) runSide() {
	if j.sideBusy || len(j.side) == 0 {
		return
	}
	jobs := j.side
	j.side = nil
	j.sideBusy = true
	store, self, root, log := j.deps.Store, j.self, j.root, j.log
	journalIO.run(func() {
		for _, job := range jobs {
			if err := job.run(context.Background(), store); err != nil {
				log.Warn("journal "+job.what+" failed", slog.Any("err", err))
			}
		}
		root.Send(self, &sideDone{})
	})
}

// readTimeout bounds a journal read: on a replicated journal a read first
// waits for the replica to catch up, which a node cut off from the set
// would wait for without end.
const readTimeout = 15 * time.Second

// read runs fn off the loop, within readTimeout, and hands its result to
// then, on the loop.
func (j *journaled[S]) read(fn func(ctx context.Context, store persistence.Store) (any, error), then func(ctx actor.Context, value any, err error)) {
	j.reads++
	store, self, root := j.deps.Store, j.self, j.root
	journalIO.run(func() {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		v, err := fn(ctx, store)
		cancel()
		root.Send(self, &readDone{value: v, err: err, then: then})
	})
}

// idle reports that no journal work is queued or under way, so that the
// actor may passivate.
func (j *journaled[S]) idle() bool {
	return !j.writing && len(j.queue) == 0 && !j.sideBusy && len(j.side) == 0 && j.reads == 0
}

// fail answers every event not yet durable with err and stops the actor:
// the next message activates it anew from its journal.
func (j *journaled[S]) fail(ctx actor.Context, batch []*pending, err error) {
	j.failed = true
	for _, p := range append(batch, j.queue...) {
		if p.done != nil {
			p.done(ctx, 0, err)
		}
	}
	j.queue = nil
	ctx.Stop(ctx.Self())
}

// busy reports that an append is under way or queued: an actor that
// writes one command at a time waits for it before the next.
func (j *journaled[S]) busy() bool { return j.writing || len(j.queue) > 0 }
