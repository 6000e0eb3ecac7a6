package bench

// Throwaway: runs scenarios against an in-process node so that go test's
// profiles cover the server. Not committed.

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/opsync/opsync/node"
)

func TestZZProfile(t *testing.T) {
	which := os.Getenv("ZZ")
	n, err := node.Start(context.Background(), node.Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", AdminToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	env := &Env{Server: n.HTTPURL(), AdminToken: "tok", Instance: "prof_APP", Log: os.Stderr, Progress: 5 * time.Second}
	ctx := context.Background()
	num := func(k string, d int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
			return v
		}
		return d
	}
	var r any
	switch which {
	case "push":
		r, err = RunPush(ctx, env, PushConfig{Biz: "BENCH", Count: num("N", 50000), Concurrency: num("C", 64), Users: 1000, PayloadSize: 200})
	case "batch":
		r, err = RunPushBatch(ctx, env, PushBatchConfig{Biz: "BENCH", Count: num("N", 200000), Batch: 1000, Concurrency: 4, Users: num("U", 1000), PayloadSize: 200})
	case "fanout":
		r, err = RunFanout(ctx, env, FanoutConfig{Mode: os.Getenv("MODE"), Clients: num("CL", 5000), Pushes: num("P", 10), Rate: num("R", 0), Batch: 100, Concurrency: 4, PayloadSize: 100, ConnectConc: 64, Timeout: 3 * time.Minute})
	case "catchup":
		r, err = RunCatchup(ctx, env, CatchupConfig{Backlog: num("N", 100000), Batch: 1000, Concurrency: 2, PayloadSize: 200, Timeout: 5 * time.Minute})
	case "conns":
		r, err = RunConns(ctx, env, ConnsConfig{Clients: num("CL", 5000), ConnectConc: 64, Settle: 10 * time.Second})
	}
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	t.Log(string(b))
}
