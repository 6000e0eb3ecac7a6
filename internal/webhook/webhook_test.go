package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opsync/opsync/internal/docrest"
	"github.com/opsync/opsync/internal/egress"
)

func TestPostSignsAndReportsStatus(t *testing.T) {
	status := http.StatusOK
	var got []byte
	var sig, ts, uri string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		sig, ts, uri = r.Header.Get(docrest.SignatureHeader), r.Header.Get(docrest.TimestampHeader), r.URL.RequestURI()
		w.WriteHeader(status)
	}))
	defer srv.Close()
	body := Body("ev1", "comment.added", "env", `{"document":{"id":"d"}}`, time.UnixMilli(0))
	s := NewSender(true) // the test's endpoint is on the loopback
	if err := s.Post(context.Background(), srv.URL+"/hook?x=1", []byte("s3cret"), body, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !docrest.Valid([]byte("s3cret"), docrest.SignedMessage("POST", uri, ts, got), sig) || uri != "/hook?x=1" {
		t.Fatalf("signature %s of %s does not verify", sig, uri)
	}
	var b map[string]any
	if err := json.Unmarshal(got, &b); err != nil || b["event"] != "comment.added" || b["environment_id"] != "env" || b["id"] != "ev1" ||
		b["sent_at"] != "1970-01-01T00:00:00.000Z" || b["payload"].(map[string]any)["document"] == nil {
		t.Fatalf("body %s", got)
	}
	for _, st := range []int{http.StatusInternalServerError, http.StatusFound, http.StatusBadRequest} {
		status = st
		if err := s.Post(context.Background(), srv.URL, []byte("s"), body, time.Now()); err == nil {
			t.Fatalf("HTTP %d taken as delivered", st)
		}
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{500 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for n, w := range want {
		if got := Backoff(n); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, w)
		}
	}
}

// A webhook may not make the node call its own network: private and
// loopback targets are refused when set and when dialled (a public name
// that resolves to the loopback), unless the node allows them.
func TestSenderRefusesPrivateTargets(t *testing.T) {
	hit := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = true }))
	defer srv.Close()
	var refusing *Sender // nil: the default
	for _, u := range []string{srv.URL, "http://10.1.2.3/hook", "http://localhost:9/x", "http://169.254.169.254/latest"} {
		if err := refusing.CheckURL(u); !errors.Is(err, egress.ErrTargetRefused) {
			t.Errorf("CheckURL(%s) = %v, want refused", u, err)
		}
		if err := NewSender(true).CheckURL(u); err != nil {
			t.Errorf("CheckURL(%s) allowing private targets: %v", u, err)
		}
	}
	for _, u := range []string{"ftp://example.com/x", "http:///nohost", "https://user:pw@example.com/"} {
		if err := NewSender(true).CheckURL(u); err == nil {
			t.Errorf("CheckURL(%s) accepted", u)
		}
	}
	if err := NewSender(true).CheckURL("https://hooks.example.com/opsync"); err != nil {
		t.Errorf("a public URL refused: %v", err)
	}
	// Dialled: a name passes CheckURL, the address it resolves to does not.
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	err := refusing.Post(context.Background(), "http://localhost"+port+"/hook", []byte("s"), []byte("{}"), time.Now())
	if !errors.Is(err, egress.ErrTargetRefused) || hit {
		t.Fatalf("POST to the loopback by name: %v (endpoint hit %v), want refused", err, hit)
	}
}
