package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The peer mode runs end to end against the centrifuge peer server, built
// once from bench/peers/centrifuge with go build (the path a run without
// --peer-bin takes).

var (
	peerOnce  sync.Once
	peerBuilt string
	peerErr   error
)

// testPeerBin builds the peer server once for the package's tests.
func testPeerBin(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH: the centrifuge peer cannot be built")
	}
	peerOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		peerBuilt, peerErr = buildPeer(ctx, filepath.Dir(opsyncBin))
	})
	if peerErr != nil {
		t.Fatal(peerErr)
	}
	return peerBuilt
}

func TestFanoutPeer(t *testing.T) {
	for _, mode := range []string{"user", "global"} {
		t.Run(mode, func(t *testing.T) {
			bin := testPeerBin(t)
			env, ctx := spawnEnv(t)
			r, err := RunFanout(ctx, env, FanoutConfig{Mode: mode, Clients: 20, Pushes: 5, Rate: 2000, Batch: 7, Concurrency: 2, PayloadSize: 40,
				ConnectConc: 8, Sources: 2, Timeout: time.Minute, Peer: peerCentrifuge, PeerBin: bin})
			if err != nil {
				t.Fatal(err)
			}
			if r.Server != peerCentrifuge || r.Mode != mode || r.Nodes != 1 || r.Expected != 100 || r.Deliveries != 100 || r.Missing != 0 ||
				r.Duplicates != 0 || r.Disconnects != 0 || r.PushErrors != 0 || r.Failed() {
				t.Fatalf("report %+v", r)
			}
			if l := r.LatencyMs; l.Count != 100 || l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max {
				t.Fatalf("latencies %+v", l)
			}
			wantRequests := int64(5) // global: one publication per request
			if mode == "user" {
				wantRequests = (100 + 6) / 7
			}
			if r.PushRequestMs.Count != wantRequests || r.DeliveriesPerSec <= 0 || r.Seconds <= 0 || r.ConnectSeconds <= 0 {
				t.Fatalf("report %+v", r)
			}
			// 5 publications × 20 clients offered at 2000/s take 40 ms.
			if r.PushSeconds < 0.04 {
				t.Fatalf("publications not paced: %+v", r)
			}
			if r.ServerCPU == nil || r.ServerCPU.CPUSeconds < 0 || r.ServerRSSBytes <= 0 || r.BenchRSSBytes <= 0 || r.SourceAddrs != 2 ||
				!strings.Contains(r.Note, "do not acknowledge") {
				t.Fatalf("report %+v", r)
			}
		})
	}
}

// conns --peer connects the idle clients to the peer and measures its RSS.
func TestConnsPeer(t *testing.T) {
	bin := testPeerBin(t)
	env, ctx := spawnEnv(t)
	r, err := RunConns(ctx, env, ConnsConfig{Clients: 50, ConnectConc: 10, Settle: 2 * time.Second, Peer: peerCentrifuge, PeerBin: bin})
	if err != nil {
		t.Fatal(err)
	}
	if r.Server != peerCentrifuge || r.Connected.Connected != 50 || r.Before.RSSBytes <= 0 || r.Connected.RSSBytes <= 0 ||
		r.ConnectSeconds <= 0 || !strings.Contains(r.RSSSource, "centrifuge") || r.Failed() {
		t.Fatalf("report %+v", r)
	}
}

// Without --peer-bin the peer is built from bench/peers/centrifuge, found
// from the working directory; a source that does not build is a clear
// error.
func TestPeerSourceAndBuildError(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	dir, err := peerSource()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(filepath.ToSlash(dir), peerModuleDir) {
		t.Fatalf("peer source %s", dir)
	}
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "go.mod"), []byte("module example.com/broken\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "main.go"), []byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = buildPeerFrom(context.Background(), broken, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "building the centrifuge peer") || !strings.Contains(err.Error(), "undefinedThing") ||
		!strings.Contains(err.Error(), "--peer-bin") {
		t.Fatalf("error %v", err)
	}
}

func TestCompareFanout(t *testing.T) {
	bin := testPeerBin(t)
	env, ctx := spawnEnv(t)
	env.Spawn = false // compare-fanout spawns its servers whatever the Env says
	r, err := RunCompareFanout(ctx, env, CompareFanoutConfig{Rounds: 1, Fanout: FanoutConfig{Mode: "global", Clients: 20, Pushes: 3,
		Rate: 0, Batch: 100, Concurrency: 2, PayloadSize: 40, ConnectConc: 8, Timeout: time.Minute, PeerBin: bin}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Runs) != 2 || r.Runs[0].Server != "opsync" || r.Runs[1].Server != peerCentrifuge || r.Failed() {
		t.Fatalf("runs %+v", r.Runs)
	}
	for _, x := range r.Runs {
		if x.Error != "" || x.Report == nil || x.Report.Server != x.Server || x.Report.Deliveries != 60 || x.Report.LatencyMs.P99 <= 0 {
			t.Fatalf("run %+v: %+v", x, x.Report)
		}
	}
	if r.Opsync.Runs != 1 || r.PeerSide.Runs != 1 || r.Opsync.DeliveriesPerSec.Median <= 0 || r.PeerSide.DeliveriesPerSec.Median <= 0 ||
		r.Ratio.DeliveriesPerSec <= 0 || r.Ratio.P99Ms <= 0 {
		t.Fatalf("summary %+v %+v %+v", r.Opsync, r.PeerSide, r.Ratio)
	}
	var out bytes.Buffer
	if err := r.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"opsync/centrifuge", "deliveries/s", "median [min – max]"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, out.String())
		}
	}
}

func TestSpread(t *testing.T) {
	if s := spread([]float64{3, 1, 2}); s != (Spread{Median: 2, Min: 1, Max: 3}) {
		t.Fatalf("odd: %+v", s)
	}
	if s := spread([]float64{4, 1, 2, 10}); s != (Spread{Median: 3, Min: 1, Max: 10}) {
		t.Fatalf("even: %+v", s)
	}
	if s := spread(nil); s != (Spread{}) {
		t.Fatalf("empty: %+v", s)
	}
}
