package egress

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	for _, c := range []struct {
		url             string
		public, private bool // accepted without, with --card-callback-private
	}{
		{"https://callback.example.com/dyn", true, true},
		{"http://93.184.216.34:8080/x?y=1", true, true},
		{"http://[2606:2800:220:1:248:1893:25c8:1946]/", true, true},
		{"http://127.0.0.1:9000/cb", false, true},
		{"http://localhost/cb", false, true},
		{"http://LOCALHOST./cb", false, true},
		{"http://app.localhost/cb", false, true},
		{"http://10.1.2.3/", false, true},
		{"http://172.16.0.1/", false, true},
		{"http://192.168.1.1/", false, true},
		{"http://100.64.0.1/", false, true},
		{"http://169.254.169.254/latest/meta-data", false, true},
		{"http://0.0.0.0/", false, true},
		{"http://[::1]/", false, true},
		{"http://[::ffff:127.0.0.1]/", false, true},
		{"http://[fd00::1]/", false, true},
		{"http://[fe80::1]/", false, true},
		{"ftp://callback.example.com/", false, false},
		{"file:///etc/passwd", false, false},
		{"callback.example.com/x", false, false},
		{"http:///x", false, false},
		{"http://user:pw@callback.example.com/", false, false},
		{"http://callback.example.com/#frag", false, false},
		{"http://callback.example.com/" + strings.Repeat("a", MaxURLLen), false, false},
		{"http://%zz/", false, false},
	} {
		if err := CheckURL(c.url, false); (err == nil) != c.public {
			t.Errorf("CheckURL(%q, false) = %v, want accepted %v", c.url, err, c.public)
		}
		if err := CheckURL(c.url, true); (err == nil) != c.private {
			t.Errorf("CheckURL(%q, true) = %v, want accepted %v", c.url, err, c.private)
		}
	}
}

func TestPublicAddr(t *testing.T) {
	for s, want := range map[string]bool{
		"8.8.8.8": true, "2001:4860:4860::8888": true, "100.128.0.1": true,
		"127.0.0.2": false, "10.0.0.1": false, "172.31.255.255": false, "192.168.0.1": false, "100.127.255.255": false,
		"169.254.1.1": false, "0.1.2.3": false, "255.255.255.255": false, "224.0.0.1": false,
		"::": false, "::1": false, "fc00::1": false, "fe80::1": false, "ff02::1": false, "::ffff:10.0.0.1": false,
	} {
		if got := PublicAddr(netip.MustParseAddr(s)); got != want {
			t.Errorf("PublicAddr(%s) = %v, want %v", s, got, want)
		}
	}
}

// The rule is applied to the address dialled, after name resolution: a
// name that resolves to the loopback (as a rebound name would) is refused
// although no URL check saw an address.
func TestDialControlRefusesResolvedPrivateAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	for _, u := range []string{srv.URL, "http://localhost" + port} {
		_, err := NewClient(false, time.Second, 2).Get(u)
		if !errors.Is(err, ErrTargetRefused) {
			t.Errorf("GET %s without allowPrivate: %v, want %v", u, err, ErrTargetRefused)
		}
		resp, err := NewClient(true, time.Second, 2).Get(u)
		if err != nil {
			t.Errorf("GET %s with allowPrivate: %v", u, err)
			continue
		}
		resp.Body.Close()
	}
}

func TestHTTPClientFollowsNoRedirect(t *testing.T) {
	hit := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			hit = true
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	resp, err := NewClient(true, time.Second, 2).Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || hit {
		t.Errorf("status %d, redirect followed %v: want the redirect answered as is", resp.StatusCode, hit)
	}
}
