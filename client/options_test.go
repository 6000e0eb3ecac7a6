package client

import "testing"

func TestEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8470":       "ws://127.0.0.1:8470/webapi/sync/ws",
		"http://127.0.0.1:8470/":      "ws://127.0.0.1:8470/webapi/sync/ws",
		"https://sync.example.com":    "wss://sync.example.com/webapi/sync/ws",
		"https://example.com/opsync/": "wss://example.com/opsync/webapi/sync/ws",
		"ws://h:1":                    "ws://h:1/webapi/sync/ws",
	} {
		got, err := endpoint(in)
		if err != nil || got != want {
			t.Errorf("endpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:8470", "ftp://h", "http://"} {
		if got, err := endpoint(bad); err == nil {
			t.Errorf("endpoint(%q) = %q, want an error", bad, got)
		}
	}
}
