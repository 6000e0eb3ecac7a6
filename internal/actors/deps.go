package actors

import (
	"io"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/opsync/opsync/internal/keyring"
	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/internal/webhook"
)

// DefaultDeleteGrace is Deps.DeleteGrace's default.
const DefaultDeleteGrace = 24 * time.Hour

// DefaultDocumentSessionTTL is Deps.DocumentSessionTTL's default.
const DefaultDocumentSessionTTL = 24 * time.Hour

// Deps is what the persistent actors of a node share.
type Deps struct {
	Store persistence.Store
	// Webhooks posts documents' webhook events and checks their URLs;
	// nil refuses private targets (serve --webhook-private allows them).
	Webhooks *webhook.Sender
	// SnapshotEvery is the number of events after which an actor stores a
	// snapshot, so that activation replays at most that many events.
	SnapshotEvery int
	// PassivateAfter stops an actor that has had no message and no attached
	// client for that long.
	PassivateAfter time.Duration
	// MaxBatch bounds the events a stream writes in one journal append.
	MaxBatch int
	// RetryInterval is how long a delivered entry waits for its ack before
	// it is delivered again.
	RetryInterval time.Duration
	// TickInterval is how often a stream looks for retries and expired
	// entries.
	TickInterval time.Duration
	// DeleteGrace is how long the entries of a deleted bizType are kept
	// (not delivered) before they are deleted for good, unless the
	// bizType is created again meanwhile. Default 24 h.
	DeleteGrace time.Duration
	// System is the actor system of the cluster member the actors run
	// on (cluster.Start sets it); the instance actor tells the set's
	// members about its changes through it. Nil: nobody is told.
	System *actor.ActorSystem
	Logger *slog.Logger
	// Space, if set, says whether the node's disk takes new data: a
	// stream refuses new entries with SYSTEM_ERROR while it does not
	// (acks, trims and deletes go on).
	Space persistence.SpaceGate
	// Clock is the time of the actors; nil is the wall clock.
	Clock Clock
	// MasterKey seals the secrets the actors keep and must read back
	// (instances' client secrets). The same on every node of a set.
	MasterKey *keyring.Key
	// EnvKeys gives the document actors their environment's data keys
	// (docdata_envkey.go); nil asks the environment's actor through the
	// cluster.
	EnvKeys EnvKeys
	// DocumentSessionTTL is how long a document session keeps its
	// operations and snapshots after its last editor left. Default 24 h.
	DocumentSessionTTL time.Duration
}

func (d *Deps) withDefaults() *Deps {
	c := *d
	if c.SnapshotEvery <= 0 {
		c.SnapshotEvery = 1000
	}
	if c.PassivateAfter <= 0 {
		c.PassivateAfter = 2 * time.Minute
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1024
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = 20 * time.Second
	}
	if c.TickInterval <= 0 {
		c.TickInterval = min(c.RetryInterval/2, 5*time.Second)
	}
	if c.DeleteGrace <= 0 {
		c.DeleteGrace = DefaultDeleteGrace
	}
	if c.DocumentSessionTTL <= 0 {
		c.DocumentSessionTTL = DefaultDocumentSessionTTL
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Clock == nil {
		c.Clock = WallClock{}
	}
	return &c
}

// now is the current time of the deps' clock.
func (d *Deps) now() time.Time { return d.Clock.Now() }
