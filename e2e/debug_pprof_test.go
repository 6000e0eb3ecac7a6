package e2e

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// The runtime's profiles are served under the admin API: with the admin
// token a heap profile (gzipped protobuf) and a goroutine dump; without it
// 401; an unknown profile 404.
func TestProfilesBehindTheAdminToken(t *testing.T) {
	srv := startServer(t, t.TempDir())
	get := func(path string, admin bool) (int, []byte) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if admin {
			req.Header.Set("Authorization", "Bearer "+adminToken)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if st, b := get("/api/v1/debug/pprof/heap", true); st != http.StatusOK || !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Fatalf("heap profile: HTTP %d, %d bytes starting %q", st, len(b), b[:min(len(b), 8)])
	}
	if st, b := get("/api/v1/debug/pprof/goroutine?debug=1", true); st != http.StatusOK || !bytes.Contains(b, []byte("goroutine profile:")) {
		t.Fatalf("goroutine dump: HTTP %d %.200s", st, b)
	}
	if st, _ := get("/api/v1/debug/pprof/heap", false); st != http.StatusUnauthorized {
		t.Fatalf("heap profile without the admin token: HTTP %d, want 401", st)
	}
	if st, _ := get("/api/v1/debug/pprof/nosuch", true); st != http.StatusNotFound {
		t.Fatalf("unknown profile: HTTP %d, want 404", st)
	}
}
