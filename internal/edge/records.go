package edge

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// recordsWindow is how far back the console's records look by default.
const recordsWindow = 30 * 24 * time.Hour

// entryJSON is one entry of a stream's records.
type entryJSON struct {
	OplogID      uint64 `json:"oplogId"`
	BizType      string `json:"bizType"`
	ThirdMsgID   string `json:"thirdMsgId"`
	PushTime     int64  `json:"pushTime"`
	ValidTimeEnd int64  `json:"validTimeEnd,omitempty"`
	// State is nil when the stream's node answered none (an older node).
	State *entryStateJSON `json:"state,omitempty"`
}

// entryStateJSON is what became of a retained entry: acknowledged by some
// device, or delivered once, retried, or not delivered yet.
type entryStateJSON struct {
	Status string `json:"status"` // acknowledged, retried, delivered, undelivered
	// The devices that acknowledged it; "" for the user, who acknowledges
	// a single-device entry once whatever the device.
	AcknowledgedBy []string `json:"acknowledgedBy"`
	// The most deliveries counted against its retries to one device that
	// has not acknowledged it.
	Deliveries uint32 `json:"deliveries"`
}

func entryState(st *opsyncpb.EntryState) *entryStateJSON {
	j := &entryStateJSON{AcknowledgedBy: st.AckedDevices, Deliveries: st.Deliveries}
	if j.AcknowledgedBy == nil {
		j.AcknowledgedBy = []string{}
	}
	switch {
	case len(st.AckedDevices) > 0:
		j.Status = "acknowledged"
	case st.Deliveries > 1:
		j.Status = "retried"
	case st.Deliveries == 1:
		j.Status = "delivered"
	default:
		j.Status = "undelivered"
	}
	return j
}

// handleRecords answers the console's per user / device records: whether
// a client is connected, pushes and arrivals in the window (default the
// last 30 days, ?since=ms; counted per UTC day, whatever was removed
// since), and the newest retained entries (?limit=, at most 1000) with
// their state (acknowledged by which devices, deliveries). A
// global push counts as a push to every user (every device, for a global
// bizType of device target). With ?days=N (1-31) it adds the series of
// the last N UTC days, today last (records_days.go).
func (s *Server) handleRecords(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	kind := r.PathValue("kind")
	if kind != "users" && kind != "devices" {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "records are under /users/{userId}/ or /devices/{deviceId}/")
		return
	}
	id := r.PathValue("id")
	if !validID(id) {
		writeError(w, http.StatusBadRequest, "INVALID", "user or device id must be 1-100 characters (UTF-16 code units) of UTF-8")
		return
	}
	since := time.Now().Add(-recordsWindow).UnixMilli()
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "INVALID", "since must be milliseconds since the epoch")
			return
		}
		since = n
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "INVALID", "limit must be 1-1000")
			return
		}
		limit = n
	}
	days, ok := parseDays(r.URL.Query().Get("days"))
	if !ok {
		writeError(w, http.StatusBadRequest, "INVALID", "days must be 1-31")
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	list, err := s.member.BizTypes(ctx, instance)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	if !list.InstanceExists {
		writeError(w, http.StatusNotFound, actors.ConfigInstanceNotFound, "no such instance")
		return
	}
	target := opsyncpb.Target_TARGET_USER
	if kind == "devices" {
		target = opsyncpb.Target_TARGET_DEVICE
	}
	st, err := s.member.StreamStatus(ctx, instance, target, id, since, uint32(limit))
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	global, err := s.globalPushes(ctx, instance, list.Configs, target, since)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	var series []dayJSON
	if days > 0 {
		if series, err = s.daySeries(ctx, instance, list.Configs, target, id, time.Now(), days); err != nil {
			writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
			return
		}
	}
	states := make(map[uint64]*opsyncpb.EntryState, len(st.EntryStates))
	for _, es := range st.EntryStates {
		states[es.OplogId] = es
	}
	entries := make([]entryJSON, 0, len(st.Entries))
	for _, e := range st.Entries {
		j := entryJSON{OplogID: e.OplogId, BizType: e.BizType, ThirdMsgID: e.ThirdMsgId, PushTime: e.PushTime, ValidTimeEnd: e.ValidTimeEnd}
		if es, ok := states[e.OplogId]; ok {
			j.State = entryState(es)
		}
		entries = append(entries, j)
	}
	devices := st.ConnectedDevices
	if devices == nil {
		devices = []string{}
	}
	ans := map[string]any{
		"connected": st.Connected, "connectedDevices": devices, "since": since,
		"pushes": st.Pushes + global, "globalPushes": global, "arrivals": st.Arrivals, "dropped": st.Dropped, "entries": entries,
	}
	if series != nil {
		ans["days"] = series
	}
	writeJSON(w, http.StatusOK, ans)
}

// globalPushes counts the pushes since since of the instance's global
// bizTypes of target: each one is a push to every user (device).
func (s *Server) globalPushes(ctx context.Context, instance string, configs []*opsyncpb.BizTypeConfig, target opsyncpb.Target, since int64) (uint64, error) {
	n := uint64(0)
	for _, c := range configs {
		if c.Scope != opsyncpb.Scope_SCOPE_GLOBAL || c.Target != target {
			continue
		}
		st, err := s.member.GlobalStreamStatus(ctx, instance, c.BizType, since)
		if err != nil {
			return 0, err
		}
		n += st.Pushes
	}
	return n, nil
}
