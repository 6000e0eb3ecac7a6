package edge

import (
	"context"
	"strconv"
	"time"

	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// dayJSON is one UTC day of a records' series.
type dayJSON struct {
	Day      string `json:"day"`   // YYYY-MM-DD (UTC)
	Start    int64  `json:"start"` // the day's first millisecond
	Pushes   uint64 `json:"pushes"`
	Arrivals uint64 `json:"arrivals"`
}

// parseDays reads ?days=: how many UTC days (today and the ones before)
// the series of a records answer holds; 0 without it.
func parseDays(v string) (int, bool) {
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > state.StatsDays {
		return 0, false
	}
	return n, true
}

// daySeries is the pushes and arrivals of the last n UTC days (oldest
// first, today last) of a user's or device's stream, global pushes
// included. A stream counts from the start of a day on (state.Stream's
// Counts), so each day's count is the difference of the counts from its
// start and from the next day's: n queries of the stream (and of each
// global stream) that need no other message than the records' own.
func (s *Server) daySeries(ctx context.Context, instance string, configs []*opsyncpb.BizTypeConfig, target opsyncpb.Target, id string, now time.Time, n int) ([]dayJSON, error) {
	const day = 24 * time.Hour
	today := now.UTC().Truncate(day)
	type counts struct{ pushes, arrivals uint64 }
	from := make([]counts, n+1) // from[k]: counted from day k's start on; from[n] (tomorrow) is zero
	for k := 0; k < n; k++ {
		start := today.Add(-time.Duration(n-1-k) * day).UnixMilli()
		st, err := s.member.StreamStatus(ctx, instance, target, id, start, 1)
		if err != nil {
			return nil, err
		}
		global, err := s.globalPushes(ctx, instance, configs, target, start)
		if err != nil {
			return nil, err
		}
		from[k] = counts{st.Pushes + global, st.Arrivals}
	}
	out := make([]dayJSON, n)
	for k := range out {
		start := today.Add(-time.Duration(n-1-k) * day)
		out[k] = dayJSON{Day: start.Format(time.DateOnly), Start: start.UnixMilli(),
			// A count from an earlier start is never below a later one's,
			// unless a day rolled over between the queries: then 0.
			Pushes: sub(from[k].pushes, from[k+1].pushes), Arrivals: sub(from[k].arrivals, from[k+1].arrivals)}
	}
	return out, nil
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}
