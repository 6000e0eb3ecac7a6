package e2e

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/opsync/opsync/internal/auth"
)

// opsync doc watch prints a document's snapshot and operations as JSON
// lines, in version order: those before it opened, then each new one; a
// token without a role on the document is refused with its reason.
func TestDocSessionCLIWatch(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst, doc = "ws_DOCCLI", "doc-cli"
	secret := createInstance(t, srv.URL, inst).Instance.ClientSecret
	ann := dialEditor(t, srv.URL, inst, "ann", "", doc)
	ann.send(t, 0, "one", "two")
	ann.send(t, 2, "three")
	if a, err := ann.doc.SendSnapshot(t.Context(), 2, []byte("S2")); err != nil || a.Code != "" {
		t.Fatalf("snapshot: %+v %v", a, err)
	}

	tok := tokenFor(t, secret, auth.Claims{Subject: "wes", Instance: inst, Auth: collab(map[string]string{doc: "reader"})})
	watch := exec.Command(opsyncBin, "doc", "watch", "--server", srv.URL, "--instance", inst, "--user", "wes", "--token", tok, "--document", doc, "--count", "3")
	out, _ := watch.StdoutPipe()
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watch.Process.Kill(); watch.Wait() })
	lines := bufio.NewScanner(out)
	next := func() map[string]any {
		t.Helper()
		if !lines.Scan() {
			t.Fatal("doc watch ended early")
		}
		var m map[string]any
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			t.Fatalf("doc watch printed %q", lines.Text())
		}
		return m
	}
	if l := next(); l["kind"] != "snapshot" || l["version"] != 2.0 || l["data"] != "S2" || l["documentId"] != doc {
		t.Fatalf("first line: %v", l)
	}
	if l := next(); l["kind"] != "op" || l["version"] != 3.0 || l["data"] != "three" || l["userId"] != "ann" {
		t.Fatalf("second line: %v", l)
	}
	ann.send(t, 3, "four")
	if l := next(); l["kind"] != "op" || l["version"] != 4.0 || l["data"] != "four" {
		t.Fatalf("third line: %v", l)
	}
	if err := watch.Wait(); err != nil {
		t.Fatalf("doc watch after --count lines: %v", err)
	}

	none := tokenFor(t, secret, auth.Claims{Subject: "wes", Instance: inst, Auth: collab(map[string]string{"other": "writer"})})
	o, errOut, code := run(t, "doc", "watch", "--server", srv.URL, "--instance", inst, "--user", "wes", "--token", none, "--document", doc)
	if code != 1 || o != "" || errOut == "" {
		t.Fatalf("doc watch without a role: exit %d %q %q", code, o, errOut)
	}
}
