package e2e

import (
	"net/http"
	"testing"
	"time"
)

// daysAnswer is a records answer with its per-day series (?days=N).
type daysAnswer struct {
	Pushes   uint64 `json:"pushes"`
	Arrivals uint64 `json:"arrivals"`
	Days     []struct {
		Day      string `json:"day"`
		Start    int64  `json:"start"`
		Pushes   uint64 `json:"pushes"`
		Arrivals uint64 `json:"arrivals"`
	} `json:"days"`
}

// TestRecordsDaySeries: ?days=31 answers the last 31 UTC days, today
// last, with each day's pushes (global ones included) and arrivals; they
// add up to the window's totals; a bad days is refused, and without it the
// answer has no series.
func TestRecordsDaySeries(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst, user = "ws_DAYS", "dee"
	putBizType(t, srv.URL, inst, "CHAT", map[string]any{"target": "user", "multiDevice": true})
	putBizType(t, srv.URL, inst, "NEWS", map[string]any{"target": "user", "scope": "global"})
	c := connectClient(t, srv.URL, inst, clientSpec{user: user, device: "d1", biz: []string{"CHAT"}, report: true})
	pushOK(t, srv.URL, inst, "CHAT", user, "c1")
	pushOK(t, srv.URL, inst, "CHAT", user, "c2")
	var g pushAnswer
	if st := call(t, http.MethodPost, srv.URL+"/webapi/sync/global?instanceId="+inst, map[string]any{"bizType": "NEWS", "thirdMsgId": "n1", "payload": "n1"}, &g); st != 200 || g.Msg != "SUCCESS" {
		t.Fatalf("global push: %d %+v", st, g)
	}
	c.expect(t, "c1", "c2")

	base := srv.URL + "/api/v1/instances/" + inst + "/users/" + user + "/records"
	var a daysAnswer
	waitFor(t, "both acks to be counted", 30*time.Second, func() bool {
		a = daysAnswer{}
		if st := call(t, http.MethodGet, base+"?days=31", nil, &a); st != 200 {
			t.Fatalf("records?days=31: %d", st)
		}
		return a.Arrivals == 2
	})
	if len(a.Days) != 31 {
		t.Fatalf("%d days, want 31: %+v", len(a.Days), a.Days)
	}
	today := time.Now().UTC()
	last := a.Days[30]
	if last.Day != today.Format(time.DateOnly) && last.Day != today.Add(-time.Minute).Format(time.DateOnly) {
		t.Fatalf("the last day is %s, today is %s", last.Day, today.Format(time.DateOnly))
	}
	if last.Pushes != 3 || last.Arrivals != 2 {
		t.Fatalf("today: %d pushes (2 own + 1 global) and %d arrivals, want 3 and 2", last.Pushes, last.Arrivals)
	}
	var pushes, arrivals uint64
	for i, d := range a.Days {
		pushes += d.Pushes
		arrivals += d.Arrivals
		if d.Start%86400000 != 0 || (i > 0 && d.Start-a.Days[i-1].Start != 86400000) {
			t.Fatalf("day %d starts at %d (the one before at %d): not consecutive UTC days", i, d.Start, a.Days[max(i-1, 0)].Start)
		}
		if got := time.UnixMilli(d.Start).UTC().Format(time.DateOnly); got != d.Day {
			t.Fatalf("day %d is %s but starts on %s", i, d.Day, got)
		}
	}
	if pushes != a.Pushes || arrivals != a.Arrivals {
		t.Fatalf("the days add up to %d pushes and %d arrivals, the window's totals are %d and %d", pushes, arrivals, a.Pushes, a.Arrivals)
	}

	var one daysAnswer
	if st := call(t, http.MethodGet, base+"?days=1", nil, &one); st != 200 || len(one.Days) != 1 || one.Days[0] != last {
		t.Fatalf("records?days=1: %d %+v, want today alone %+v", st, one.Days, last)
	}
	var plain map[string]any
	if st := call(t, http.MethodGet, base, nil, &plain); st != 200 || plain["days"] != nil {
		t.Fatalf("records without days: %d, days %v", st, plain["days"])
	}
	for _, bad := range []string{"0", "32", "x", "-1"} {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		if st := call(t, http.MethodGet, base+"?days="+bad, nil, &e); st != 400 || e.Error.Code != "INVALID" {
			t.Fatalf("records?days=%s: %d %+v, want 400 INVALID", bad, st, e)
		}
	}
}
