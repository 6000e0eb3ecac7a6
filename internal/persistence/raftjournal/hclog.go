package raftjournal

import (
	"bytes"
	"context"
	"io"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// raftLogger routes raft's hclog output to logger at warn and above; raft
// is chatty at info (every election, every snapshot).
func raftLogger(logger *slog.Logger) hclog.Logger {
	if logger == nil {
		return hclog.NewNullLogger()
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:        "raft",
		Level:       hclog.Warn,
		Output:      slogWriter{logger},
		DisableTime: true,
	})
}

// slogWriter takes hclog's formatted lines ("[WARN]  raft: msg: k=v") and
// logs each at the level of its prefix.
type slogWriter struct{ l *slog.Logger }

var _ io.Writer = slogWriter{}

func (w slogWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelWarn
	for _, lv := range []struct {
		prefix string
		level  slog.Level
	}{{"[ERROR]", slog.LevelError}, {"[WARN]", slog.LevelWarn}, {"[INFO]", slog.LevelInfo}, {"[DEBUG]", slog.LevelDebug}} {
		if bytes.HasPrefix(line, []byte(lv.prefix)) {
			level = lv.level
			line = bytes.TrimSpace(line[len(lv.prefix):])
			break
		}
	}
	w.l.Log(context.Background(), level, string(line))
	return len(p), nil
}
