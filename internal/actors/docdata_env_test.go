package actors

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/docrest"
	"github.com/opsync/opsync/proto/opsyncpb"
)

func TestDocEnvSecret(t *testing.T) {
	store := newTestStore()
	d := (&Deps{Store: store, Clock: newFakeClock(), Logger: quiet, MasterKey: testMasterKey}).withDefaults()
	system := newSystem(t)
	start := func() *actor.PID {
		return spawnGrain(system, actor.PropsFromProducer(func() actor.Actor {
			return newDocEnvActor(d)
		}), testInstance, KindDocEnv)
	}
	pid := start()
	ask := func(m proto.Message) *opsyncpb.DocEnvAnswer {
		t.Helper()
		return request[*opsyncpb.DocEnvAnswer](t, system, pid, m)
	}
	msg := docrest.SignedMessage("GET", "/api/v5/"+testInstance+"/comments?document_id=d", "1700000000000", nil)
	if a := ask(&opsyncpb.VerifyDocRequest{Message: msg, Signature: docrest.Sign([]byte("x"), msg)}); a.Code != DocEnvNoSecret {
		t.Fatalf("verify without a secret: %v, want %s", a, DocEnvNoSecret)
	}
	first := ask(&opsyncpb.RotateDocSecret{})
	if first.Code != "" || first.Secret == "" {
		t.Fatalf("rotate: %v", first)
	}
	verify := func(secret string) string {
		return ask(&opsyncpb.VerifyDocRequest{Message: msg, Signature: docrest.Sign([]byte(secret), msg)}).Code
	}
	if c := verify(first.Secret); c != "" {
		t.Fatalf("the issued secret's signature is refused: %s", c)
	}
	if c := verify(first.Secret + "x"); c != DocEnvBadSig {
		t.Fatalf("another secret's signature: %q, want %s", c, DocEnvBadSig)
	}
	// Stored sealed: the journal does not hold the secret in clear.
	for _, ev := range store.events(t, JournalID(KindDocEnv, testInstance)) {
		if s := ev.ev.GetDocEnv().GetSecretSet(); s != nil && string(s.SecretSealed) == first.Secret {
			t.Fatal("the secret is journaled in clear")
		}
	}
	second := ask(&opsyncpb.RotateDocSecret{})
	if c := verify(first.Secret); c != DocEnvBadSig {
		t.Fatalf("the rotated-out secret still verifies: %q", c)
	}
	// A new activation opens the sealed secret from the journal.
	if err := system.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	pid = start()
	if c := verify(second.Secret); c != "" {
		t.Fatalf("after recovery the current secret is refused: %s", c)
	}
	if g := ask(&opsyncpb.GetDocEnv{}); g.Secret != "" || g.SecretPrefix != second.SecretPrefix {
		t.Fatalf("GetDocEnv = %v: no secret, the current prefix", g)
	}
}
