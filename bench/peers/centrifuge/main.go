// Command centrifuge is the peer server of `opsync bench fanout --peer
// centrifuge`: a small server on Centrifugo's core library,
// github.com/centrifugal/centrifuge, set up as docs/benchmarks.md describes
// (WebSocket transport, JSON protocol, memory broker, every publication kept
// in a history of 100 for 10 minutes, recovery on).
//
// It is a module of its own so that opsync's binary does not carry
// centrifuge. Endpoints:
//
//	GET  /connection/websocket   the centrifuge WebSocket handler: any client
//	                             may connect (user id from ?user= or the
//	                             connect command's data {"user":"…"}) and
//	                             subscribe to any channel
//	POST /publish?channel=C      publishes the body (JSON as it is; anything
//	                             else as a JSON string)
//	POST /publish/batch          {"items":[{"channel":"c","data":<JSON>}]}
//
// When it listens it prints one line on stdout: {"listening":"127.0.0.1:PORT"}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/centrifugal/centrifuge"
)

// History of every publication: the setup of the earlier comparisons.
const (
	historySize = 100
	historyTTL  = 10 * time.Minute
	maxBody     = 16 << 20
)

func main() {
	addr := flag.String("http", "127.0.0.1:0", "listen address (port 0: any free port, printed on stdout)")
	logLevel := flag.String("log-level", "error", "centrifuge log level: none, error, warn, info, debug")
	flag.Parse()
	if err := run(*addr, *logLevel); err != nil {
		fmt.Fprintln(os.Stderr, "centrifuge peer:", err)
		os.Exit(1)
	}
}

func run(addr, level string) error {
	lv, ok := map[string]centrifuge.LogLevel{"none": centrifuge.LogLevelNone, "error": centrifuge.LogLevelError,
		"warn": centrifuge.LogLevelWarn, "info": centrifuge.LogLevelInfo, "debug": centrifuge.LogLevelDebug}[level]
	if !ok {
		return fmt.Errorf("unknown --log-level %q", level)
	}
	logger := log.New(os.Stderr, "centrifuge: ", log.LstdFlags)
	node, err := centrifuge.New(centrifuge.Config{
		Name:       "opsync-bench-peer",
		LogLevel:   lv,
		LogHandler: func(e centrifuge.LogEntry) { logger.Printf("%s %v", e.Message, e.Fields) },
	})
	if err != nil {
		return err
	}
	broker, err := centrifuge.NewMemoryBroker(node, centrifuge.MemoryBrokerConfig{})
	if err != nil {
		return err
	}
	node.SetBroker(broker)

	node.OnConnecting(func(ctx context.Context, e centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
		if _, ok := centrifuge.GetCredentials(ctx); ok {
			return centrifuge.ConnectReply{}, nil // set from ?user= by withUser
		}
		var d struct {
			User string `json:"user"`
		}
		if len(e.Data) > 0 {
			_ = json.Unmarshal(e.Data, &d)
		}
		return centrifuge.ConnectReply{Credentials: &centrifuge.Credentials{UserID: d.User}}, nil
	})
	node.OnConnect(func(c *centrifuge.Client) {
		c.OnSubscribe(func(_ centrifuge.SubscribeEvent, cb centrifuge.SubscribeCallback) {
			cb(centrifuge.SubscribeReply{Options: centrifuge.SubscribeOptions{EnableRecovery: true}}, nil)
		})
		c.OnUnsubscribe(func(centrifuge.UnsubscribeEvent) {})
		c.OnDisconnect(func(centrifuge.DisconnectEvent) {})
	})
	if err := node.Run(); err != nil {
		return err
	}

	mux := http.NewServeMux()
	ws := centrifuge.NewWebsocketHandler(node, centrifuge.WebsocketConfig{CheckOrigin: func(*http.Request) bool { return true }})
	mux.Handle("/connection/websocket", withUser(ws))
	mux.HandleFunc("POST /publish", func(w http.ResponseWriter, r *http.Request) { publish(node, w, r) })
	mux.HandleFunc("POST /publish/batch", func(w http.ResponseWriter, r *http.Request) { publishBatch(node, w, r) })

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	line, _ := json.Marshal(map[string]string{"listening": ln.Addr().String()})
	fmt.Println(string(line))

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case err := <-done:
		return err
	case <-sig:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = node.Shutdown(ctx)
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// withUser authenticates a WebSocket connection as the user named by the
// query parameter user, when there is one.
func withUser(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := r.URL.Query().Get("user"); u != "" {
			r = r.WithContext(centrifuge.SetCredentials(r.Context(), &centrifuge.Credentials{UserID: u}))
		}
		h.ServeHTTP(w, r)
	})
}

// publishResult is a publication's place in its channel's history.
type publishResult struct {
	Offset uint64 `json:"offset,omitempty"`
	Epoch  string `json:"epoch,omitempty"`
	Error  string `json:"error,omitempty"`
}

// jsonData is data as centrifuge's JSON protocol needs it: JSON as it is,
// anything else encoded as a JSON string.
func jsonData(b []byte) []byte {
	if len(b) > 0 && json.Valid(b) {
		return b
	}
	q, _ := json.Marshal(string(b))
	return q
}

func publishOne(node *centrifuge.Node, channel string, data []byte) publishResult {
	res, err := node.Publish(channel, data, centrifuge.WithHistory(historySize, historyTTL))
	if err != nil {
		return publishResult{Error: err.Error()}
	}
	return publishResult{Offset: res.Offset, Epoch: res.Epoch}
}

func publish(node *centrifuge.Node, w http.ResponseWriter, r *http.Request) {
	ch := r.URL.Query().Get("channel")
	if ch == "" {
		writeJSON(w, http.StatusBadRequest, publishResult{Error: "channel query parameter required"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, publishResult{Error: err.Error()})
		return
	}
	res := publishOne(node, ch, jsonData(body))
	code := http.StatusOK
	if res.Error != "" {
		code = http.StatusInternalServerError
	}
	writeJSON(w, code, res)
}

func publishBatch(node *centrifuge.Node, w http.ResponseWriter, r *http.Request) {
	var req struct {
		Items []struct {
			Channel string          `json:"channel"`
			Data    json.RawMessage `json:"data"`
		} `json:"items"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	out := struct {
		Replies []publishResult `json:"replies"`
		Failed  int             `json:"failed"`
	}{Replies: make([]publishResult, len(req.Items))}
	for i, it := range req.Items {
		if it.Channel == "" || len(it.Data) == 0 {
			out.Replies[i] = publishResult{Error: "item needs a channel and data"}
		} else {
			out.Replies[i] = publishOne(node, it.Channel, it.Data)
		}
		if out.Replies[i].Error != "" {
			out.Failed++
		}
	}
	code := http.StatusOK
	if out.Failed > 0 {
		code = http.StatusInternalServerError
	}
	writeJSON(w, code, out)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
