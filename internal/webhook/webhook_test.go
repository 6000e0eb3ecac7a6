package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opsync/opsync/internal/docrest"
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
	if err := Post(context.Background(), srv.URL+"/hook?x=1", []byte("s3cret"), body, time.Now()); err != nil {
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
		if err := Post(context.Background(), srv.URL, []byte("s"), body, time.Now()); err == nil {
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
