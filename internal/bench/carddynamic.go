package bench

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// CardDynamicConfig gives card's cards dynamic sources, pulled by the node
// from a callback server this process runs (so the node must accept a
// loopback callback URL: a spawned node gets --card-callback-private).
type CardDynamicConfig struct {
	// Sources per card; 0: no dynamic data.
	Sources int
	// Interval of the sources' INTERVAL pulls (at least 6 s); 0: ONCE.
	Interval time.Duration
	// Delay is how long the callback server takes to answer (a backend's
	// own work).
	Delay time.Duration
	// Hold keeps the cards open this long after the updates' views, with
	// nothing else going on: INTERVAL sources are pulled again meanwhile.
	Hold time.Duration
}

func (c *CardDynamicConfig) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.Sources, "dynamic-sources", 0, "dynamic sources per card, answered by a callback server in the bench (0: none)")
	fs.DurationVar(&c.Interval, "dynamic-interval", 0, "INTERVAL pull period of the dynamic sources (>= 6s); 0: ONCE (pulled at each open)")
	fs.DurationVar(&c.Delay, "callback-delay", 0, "time the bench's callback server takes per answer")
	fs.DurationVar(&c.Hold, "hold", 0, "keep the cards open this long after the updates' views, measuring the pulls alone (INTERVAL sources)")
}

func (c *CardDynamicConfig) check() error {
	switch {
	case c.Sources < 0 || c.Sources > 16:
		return usageErr("--dynamic-sources 0-16")
	case c.Interval != 0 && (c.Interval < 6*time.Second || c.Interval%time.Second != 0):
		return usageErr("--dynamic-interval: whole seconds, at least 6s (or 0 for ONCE)")
	case c.Delay < 0 || c.Hold < 0:
		return usageErr("--callback-delay and --hold must not be negative")
	}
	return nil
}

// cardCallbackPrivate is the serve flag allowing a loopback callback URL.
const cardCallbackPrivate = "--card-callback-private"

// CardDynamicReport is what the dynamic sources cost and delivered.
type CardDynamicReport struct {
	Sources         int     `json:"sourcesPerCard"`
	IntervalSeconds float64 `json:"intervalSeconds"` // 0: ONCE
	CallbackDelayMs float64 `json:"callbackDelayMs"`
	// Callbacks are the requests the callback server answered in all.
	// During the hold (the cards open, no updates): CallbacksPerSec
	// (OfferedPerSec is what the INTERVAL sources ask for, viewers over
	// the interval), the servers' CPU per callback and cores.
	Callbacks              int64   `json:"callbacks"`
	HoldSeconds            float64 `json:"holdSeconds,omitempty"`
	CallbacksPerSec        float64 `json:"callbacksPerSec"`
	OfferedPerSec          float64 `json:"offeredCallbacksPerSec,omitempty"`
	ServerCPUPerCallbackUs float64 `json:"serverCpuPerCallbackUs,omitempty"`
	ServerCoresHeld        float64 `json:"serverCoresHeld,omitempty"`
	// SourcesPerCallback is the mean of sources asked per request: every
	// source of a card is asked in one request.
	SourcesPerCallback float64 `json:"sourcesPerCallback"`
	BadSignatures      int64   `json:"badSignatures"`
	BadRequests        int64   `json:"badRequests"`
	// Frames are the dynamic frames the viewers read; ErrorFrames those
	// reporting a failed pull; Leaked those carrying another user's data
	// (must be 0); FirstFrameMs the Open → first dynamic frame latency.
	Frames       int64   `json:"frames"`
	ErrorFrames  int64   `json:"errorFrames"`
	Leaked       int64   `json:"leaked"`
	Viewers      int64   `json:"viewersWithData"`
	FirstFrameMs Latency `json:"firstFrameLatencyMs"`
	FirstError   string  `json:"firstError,omitempty"`
}

func (r *CardDynamicReport) failed() bool {
	return r.BadSignatures > 0 || r.BadRequests > 0 || r.ErrorFrames > 0 || r.Leaked > 0 || r.Frames == 0
}

// cardDynamic is a run's callback server and the viewers' side of the
// dynamic frames. A nil *cardDynamic is a run without dynamic sources.
type cardDynamic struct {
	c       CardDynamicConfig
	prefix  string
	secret  string
	srv     *http.Server
	viewers int

	callbacks, asked, badSig, badReq atomic.Int64
	frames, errFrames, leaked        atomic.Int64
	held                             *heldWindow // set by hold
	first                            *histogram
	seen                             []atomic.Int32 // viewer i's frames with data
	withData, complete               atomic.Int64   // viewers with a frame, with every source's
	allData                          chan struct{}  // closed when every viewer is complete
	allOnce                          sync.Once
	firstErr                         atomic.Value
}

// start runs the callback server and registers it for the run's route
// key; nil without dynamic sources.
func (c CardDynamicConfig) start(ctx context.Context, env *Env, a *api, prefix string, viewers int) (*cardDynamic, error) {
	if c.Sources == 0 {
		return nil, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &cardDynamic{c: c, prefix: prefix, secret: "bench-" + runID(), viewers: viewers,
		first: &histogram{}, seen: make([]atomic.Int32, viewers), allData: make(chan struct{})}
	d.srv = &http.Server{Handler: http.HandlerFunc(d.serve), ReadHeaderTimeout: 5 * time.Second}
	go d.srv.Serve(ln)
	url := "http://" + ln.Addr().String() + "/callback"
	if err := a.registerCardCallback(ctx, d.routeKey(), url, d.secret); err != nil {
		d.close()
		return nil, err
	}
	env.logf("card: callback server %s, %d sources per card, interval %v", url, c.Sources, c.Interval)
	return d, nil
}

func (d *cardDynamic) close() {
	if d != nil {
		d.srv.Close()
	}
}

func (d *cardDynamic) routeKey() string {
	if d == nil {
		return ""
	}
	return d.prefix + "-route"
}

// sources is the cards' openDynamicDataConfig.dynamicDataSourceConfigs.
func (d *cardDynamic) sources() []map[string]any {
	if d == nil {
		return nil
	}
	pull := map[string]any{"pullStrategy": "ONCE"}
	if d.c.Interval > 0 {
		pull = map[string]any{"pullStrategy": "INTERVAL", "timeUnit": "SECONDS", "interval": int(d.c.Interval / time.Second)}
	}
	var out []map[string]any
	for s := range d.c.Sources {
		out = append(out, map[string]any{"dynamicDataSourceId": "s" + strconv.Itoa(s), "pullConfig": pull})
	}
	return out
}

func (d *cardDynamic) fail(msg string) { d.firstErr.CompareAndSwap(nil, msg) }

// serve answers a pull: the signature checked, each source's data naming
// the user asked for (so a viewer can tell its own data from another's).
func (d *cardDynamic) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	ts := r.Header.Get("x-ddpaas-signature-timestamp")
	mac := hmac.New(sha256.New, []byte(d.secret))
	mac.Write([]byte(ts))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); ts == "" || !hmac.Equal([]byte(r.Header.Get("x-ddpaas-signature")), []byte(want)) {
		d.badSig.Add(1)
		d.fail("a callback request with a bad signature")
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var req struct {
		Type       string `json:"type"`
		CorpID     string `json:"corpId"`
		UserID     string `json:"userId"`
		OutTrackID string `json:"outTrackId"`
		Content    string `json:"content"`
	}
	var content struct {
		Requests []struct {
			ID string `json:"dynamicDataSourceId"`
		} `json:"dynamicDataSourceQueryRequests"`
	}
	err = json.Unmarshal(body, &req)
	if err == nil {
		err = json.Unmarshal([]byte(req.Content), &content)
	}
	if err != nil || req.Type != "dynamicDataCallback" || req.UserID == "" || !strings.HasPrefix(req.OutTrackID, d.prefix) || len(content.Requests) == 0 {
		d.badReq.Add(1)
		d.fail(fmt.Sprintf("a callback request %.200q (%v)", body, err))
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if d.c.Delay > 0 {
		time.Sleep(d.c.Delay) // the backend's work, not synchronisation
	}
	type item struct {
		Data      string `json:"data"`
		ID        string `json:"dynamicDataSourceId"`
		ValueType string `json:"dynamicDataValueType"`
	}
	ans := struct {
		Items []item `json:"dataSourceQueryResponses"`
	}{}
	for _, q := range content.Requests {
		data, _ := json.Marshal(map[string]string{"user": req.UserID, "source": q.ID})
		ans.Items = append(ans.Items, item{Data: string(data), ID: q.ID, ValueType: "OBJECT"})
	}
	d.callbacks.Add(1)
	d.asked.Add(int64(len(content.Requests)))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(ans)
}

// frame counts a dynamic frame viewer i (user) read, sinceOpen after its
// Open was sent.
func (d *cardDynamic) frame(i int, user string, f *opsyncpb.CardDynamicData, sinceOpen time.Duration) {
	if d == nil {
		return
	}
	d.frames.Add(1)
	if f.Error != "" {
		d.errFrames.Add(1)
		d.fail(fmt.Sprintf("viewer %d: source %s: %s", i, f.SourceId, f.Error))
		return
	}
	var data struct{ User string }
	if err := json.Unmarshal([]byte(f.Data), &data); err != nil || data.User != user {
		d.leaked.Add(1)
		d.fail(fmt.Sprintf("viewer %d (%s) got dynamic data %.100q", i, user, f.Data))
		return
	}
	n := d.seen[i].Add(1)
	if n == 1 {
		d.withData.Add(1)
		d.first.record(sinceOpen)
	}
	if n == int32(d.c.Sources) && d.complete.Add(1) == int64(d.viewers) {
		d.allOnce.Do(func() { close(d.allData) })
	}
}

// awaitData waits until every viewer had data from each source (the
// first pull), the deadline passes (logged) or ctx ends.
func (d *cardDynamic) awaitData(ctx context.Context, deadline time.Time, env *Env) {
	if d == nil {
		return
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-d.allData:
	case <-timer.C:
		env.logf("card: timed out with %d of %d viewers having their dynamic data", d.complete.Load(), d.viewers)
	case <-ctx.Done():
	}
}

// hold keeps the cards open Hold longer (load duration, not
// synchronisation), measuring the callbacks and the servers' CPU meanwhile.
func (d *cardDynamic) hold(ctx context.Context, t *target) {
	if d == nil || d.c.Hold <= 0 {
		return
	}
	before, cpu, start := d.callbacks.Load(), startCPU(t.pids()...), time.Now()
	select {
	case <-time.After(d.c.Hold):
	case <-ctx.Done():
	}
	n := d.callbacks.Load() - before
	_, server := cpu.stop()
	d.held = &heldWindow{callbacks: n, seconds: time.Since(start).Seconds()}
	if t.srv != nil && n > 0 {
		d.held.cpuPerCallbackUs = round1(server.CPUSeconds * 1e6 / float64(n))
		d.held.cores = server.Cores
	}
}

// heldWindow is what hold measured.
type heldWindow struct {
	callbacks        int64
	seconds          float64
	cpuPerCallbackUs float64
	cores            float64
}

func (d *cardDynamic) report() *CardDynamicReport {
	if d == nil {
		return nil
	}
	r := &CardDynamicReport{Sources: d.c.Sources, IntervalSeconds: d.c.Interval.Seconds(), CallbackDelayMs: ms(d.c.Delay),
		Callbacks: d.callbacks.Load(), BadSignatures: d.badSig.Load(), BadRequests: d.badReq.Load(),
		Frames: d.frames.Load(), ErrorFrames: d.errFrames.Load(), Leaked: d.leaked.Load(), Viewers: d.withData.Load(),
		FirstFrameMs: d.first.latency()}
	if h := d.held; h != nil && h.seconds > 0 {
		r.HoldSeconds = round3(h.seconds)
		r.CallbacksPerSec = round1(float64(h.callbacks) / h.seconds)
		r.ServerCPUPerCallbackUs, r.ServerCoresHeld = h.cpuPerCallbackUs, h.cores
	}
	if d.c.Interval > 0 {
		r.OfferedPerSec = round1(float64(d.viewers) / d.c.Interval.Seconds())
	}
	if r.Callbacks > 0 {
		r.SourcesPerCallback = round3(float64(d.asked.Load()) / float64(r.Callbacks))
	}
	r.FirstError, _ = d.firstErr.Load().(string)
	return r
}
