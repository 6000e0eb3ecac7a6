package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/opsync/opsync/internal/persistence"
)

// A data directory of a newer format than the binary's is refused: serve
// exits non-zero saying so, before serving anything and without changing
// the data; so does the offline journal reader. Once the directory is back
// at this binary's format, the node serves its old data.
//
// The test raises the format with persistence.SetFormatVersionForTest
// rather than writing the version key itself, so that the key's layout
// stays in the persistence package alone.
func TestFormatVersionTooNewRefused(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServer(t, dataDir)
	const inst, biz, user = "ws_FORMAT", "NOTES", "u1"
	putBizType(t, srv.URL, inst, biz, map[string]any{})
	var last uint64
	for _, id := range []string{"m1", "m2", "m3"} {
		last = pushOK(t, srv.URL, inst, biz, user, id)
	}
	srv.stop()
	before := journalContents(t, dataDir)
	if !strings.Contains(before, `"thirdMsgId":"m3"`) {
		t.Fatalf("the journal does not show the pushes:\n%s", before)
	}

	if err := persistence.SetFormatVersionForTest(dataDir, 7); err != nil {
		t.Fatal(err)
	}
	const want = "data directory format version 7 is newer than this binary supports (1): upgrade opsync"

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, opsyncBin, "serve", "--data", dataDir, "--http", "127.0.0.1:0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if ctx.Err() != nil {
		t.Fatalf("serve on a format 7 directory still ran after a minute; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("serve on a format 7 directory: %v, want a non-zero exit; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), want) {
		t.Fatalf("serve's stderr does not say %q:\n%s", want, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Fatalf("refusing serve printed on stdout: %q", stdout.String())
	}

	// The refusal left the version as it was: the offline reader, which
	// opens the same store, still finds format 7.
	if _, errOut, code := run(t, "journal", "--data", dataDir, "list"); code == 0 || !strings.Contains(errOut, want) {
		t.Fatalf("journal list on a format 7 directory: exit %d, stderr %q", code, errOut)
	}

	if err := persistence.SetFormatVersionForTest(dataDir, persistence.FormatVersion); err != nil {
		t.Fatal(err)
	}
	if after := journalContents(t, dataDir); after != before {
		t.Fatalf("the journal changed across the refused start:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	srv = startServer(t, dataDir)
	if _, a := push(t, srv.URL, inst, map[string]any{"bizType": biz, "linkToken": user, "thirdMsgId": "m2", "payload": "again"}); a.Msg != "DUPLICATED_BIZ_ID" {
		t.Fatalf("repeat of an old push after the restart answered %+v, want DUPLICATED_BIZ_ID", a)
	}
	if id := pushOK(t, srv.URL, inst, biz, user, "m4"); id != last+1 {
		t.Fatalf("push after the restart got oplog id %d, want %d", id, last+1)
	}
}

// journalContents is what `opsync journal` shows of a stopped node's data:
// the list of actors and every stored event of each.
func journalContents(t *testing.T, dataDir string) string {
	t.Helper()
	list, errOut, code := run(t, "journal", "--data", dataDir, "list")
	if code != 0 {
		t.Fatalf("journal list: exit %d: %s", code, errOut)
	}
	var b strings.Builder
	b.WriteString(list)
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		var a struct {
			Actor      string `json:"actor"`
			HighestSeq uint64 `json:"highestSeq"`
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("journal list line %q: %v", line, err)
		}
		if a.HighestSeq == 0 {
			continue // snapshots only: nothing to dump
		}
		out, errOut, code := run(t, "journal", "--data", dataDir, "dump", a.Actor)
		if code != 0 {
			t.Fatalf("journal dump %s: exit %d: %s", a.Actor, code, errOut)
		}
		b.WriteString(out)
	}
	return b.String()
}
