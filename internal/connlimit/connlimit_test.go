package connlimit

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// served is a Listener under a real http.Server on 127.0.0.1 whose idle
// transitions the test can wait for.
type served struct {
	l    *Listener
	url  string
	idle chan struct{}
	obs  *counts
}

type counts struct {
	mu      sync.Mutex
	refused map[string]int
	evicted int
	open    chan int // every change of the open count
}

func (c *counts) Open(n int) { c.open <- n }
func (c *counts) Refused(r string) {
	c.mu.Lock()
	c.refused[r]++
	c.mu.Unlock()
}
func (c *counts) IdleClosed() {
	c.mu.Lock()
	c.evicted++
	c.mu.Unlock()
}

func serve(t *testing.T, opts Options) *served {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	obs := &counts{refused: map[string]int{}, open: make(chan int, 1024)}
	opts.Observe = obs
	opts.Refusal = func(reason string) []byte {
		return []byte("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: " + fmt.Sprint(len(reason)) + "\r\n\r\n" + reason)
	}
	s := &served{l: New(inner, opts), url: "http://" + inner.Addr().String(), idle: make(chan struct{}, 16), obs: obs}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ConnState: func(c net.Conn, st http.ConnState) {
			s.l.ConnState(c, st)
			if st == http.StateIdle {
				s.idle <- struct{}{}
			}
		},
	}
	go srv.Serve(s.l)
	t.Cleanup(func() { srv.Close() })
	return s
}

// request sends one keep-alive GET on c and returns the answer's status
// line.
func request(t *testing.T, c net.Conn, r *bufio.Reader) string {
	t.Helper()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("reading answer: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Status
}

func dial(t *testing.T, s *served) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// An idle keep-alive connection makes room for a new client at the cap.
func TestIdleConnectionMakesRoom(t *testing.T) {
	s := serve(t, Options{Max: 2})
	var readers []*bufio.Reader
	for i := 0; i < 2; i++ {
		c, r := dial(t, s)
		if st := request(t, c, r); st != "200 OK" {
			t.Fatalf("client %d: %s", i, st)
		}
		<-s.idle
		readers = append(readers, r)
	}
	c, r := dial(t, s)
	if st := request(t, c, r); st != "200 OK" {
		t.Fatalf("third client at the cap: %s", st)
	}
	// The oldest idle one was closed.
	if _, err := readers[0].ReadByte(); err != io.EOF {
		t.Fatalf("oldest idle connection: %v, want EOF", err)
	}
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	if s.obs.evicted != 1 {
		t.Fatalf("evicted %d idle connections, want 1", s.obs.evicted)
	}
}

// Without an idle connection to close, a connection over the cap is
// refused with a 503 that says why; a closed one frees its slot.
func TestTotalCapRefusesWhenNoneIdle(t *testing.T) {
	s := serve(t, Options{Max: 1})
	busy, _ := dial(t, s) // open, never sends a request: not idle
	c, r := dial(t, s)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || string(body) != ReasonTotal {
		t.Fatalf("over the cap: %d %q", resp.StatusCode, body)
	}
	c.Close()
	busy.Close()
	// The busy connection's slot comes back once the server sees it close.
	for n := range s.obs.open {
		if n == 0 {
			break
		}
	}
	c, r = dial(t, s)
	if st := request(t, c, r); st != "200 OK" {
		t.Fatalf("after a close: %s", st)
	}
}

func TestPerAddressCap(t *testing.T) {
	s := serve(t, Options{Max: 10, MaxPerAddr: 2})
	for i := 0; i < 2; i++ {
		c, r := dial(t, s)
		if st := request(t, c, r); st != "200 OK" {
			t.Fatalf("client %d: %s", i, st)
		}
	}
	_, r := dial(t, s)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("third from one address: %v %v", resp, err)
	}
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	if s.obs.refused[ReasonPerAddr] != 1 {
		t.Fatalf("refusals %v", s.obs.refused)
	}
}

func TestDefaultMax(t *testing.T) {
	for _, tc := range []struct {
		nofile uint64
		want   int
	}{{256, 192}, {1024, 768}, {20000, 18976}, {1 << 20, 1<<20 - 1024}, {1, 1}} {
		if got := DefaultMax(tc.nofile); got != tc.want {
			t.Errorf("DefaultMax(%d) = %d, want %d", tc.nofile, got, tc.want)
		}
	}
}
