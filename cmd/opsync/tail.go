package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/opsync/opsync/client"
)

// tailLine is the JSON line `opsync tail` prints per message: payload for
// a text message, binaryPayload (base64) for a binary one.
type tailLine struct {
	BizType       string  `json:"bizType"`
	OplogID       uint64  `json:"oplogId"`
	ThirdMsgID    string  `json:"thirdMsgId"`
	Payload       *string `json:"payload,omitempty"`
	BinaryPayload *string `json:"binaryPayload,omitempty"`
	PushTime      int64   `json:"pushTime"`
}

func newTailLine(m client.Message) tailLine {
	l := tailLine{BizType: m.BizType, OplogID: m.OplogID, ThirdMsgID: m.ThirdMsgID}
	if m.IsBinary {
		b := base64.StdEncoding.EncodeToString(m.BinaryPayload)
		l.BinaryPayload = &b
	} else {
		l.Payload = &m.Payload
	}
	if !m.PushTime.IsZero() {
		l.PushTime = m.PushTime.UnixMilli()
	}
	return l
}

// runTail implements `opsync tail`: connect as a client, print each
// delivered message as one JSON line, acknowledge it once printed. It
// returns 0 after --count messages or on SIGINT / SIGTERM (the sync points
// saved in --state either way), 1 on a fatal error, 2 on a usage error.
func runTail(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("tail", "opsync tail --server URL --instance ID [--user U] [--device D] --biz B... [--state FILE] [--count N] [flags]\n\n  Without --user the client connects device-only (as an app before sign-in): it receives\n  device-target and global bizTypes only.", stdout, stderr)
	server := serverFlag(fs)
	instance := fs.String("instance", "", "instance id")
	user := fs.String("user", "", "userId to connect as (none: device-only)")
	session := fs.String("session", "", "sessionId, for bizTypes with the user-consistency check")
	device := fs.String("device", "", "device id (default: the one kept in --state, else a random one)")
	stateFile := fs.String("state", "", "file keeping the device id and the sync points, so that the next run resumes")
	count := fs.Int("count", 0, "exit after printing this many messages (0: run until SIGINT or SIGTERM)")
	osType := fs.String("os-type", "", "osType the client reports (iOS, Android, ...)")
	appVersion := fs.String("app-version", "", "app version the client reports")
	token := newSecretFlag(fs, "token", "OPSYNC_CLIENT_TOKEN", "client `token`: an HS256 JWT signed with the instance's clientSecret (env OPSYNC_CLIENT_TOKEN)")
	var bizTypes multiFlag
	fs.Var(&bizTypes, "biz", "bizType to receive (repeatable, at least one)")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, fs, "unexpected argument %q", fs.Arg(0))
	case *instance == "":
		return usageError(stderr, fs, "--instance is required")
	case len(bizTypes) == 0:
		return usageError(stderr, fs, "at least one --biz is required")
	case *count < 0:
		return usageError(stderr, fs, "--count must not be negative")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fatal := make(chan error, 1)
	notes := make(chan error, 16)
	report := func(ch chan error, err error) {
		select {
		case ch <- err:
		default:
		}
	}
	// withheld passes on, from the callback goroutine, the bizTypes the
	// server withholds from a new connection.
	withheld := make(chan []string, 1)
	var c *client.Client
	c, err := client.New(client.Options{
		Server: *server, InstanceID: *instance, StateFile: *stateFile, DeviceID: *device,
		OSType: *osType, AppVersion: *appVersion, Token: token.get(),
		OnStateChange: func(up bool) {
			if w := c.Withheld(); up && len(w) > 0 {
				select {
				case withheld <- w:
				default:
				}
			}
		},
		OnError: func(err error) {
			if client.IsFatal(err) {
				report(fatal, err)
			} else {
				report(notes, err)
			}
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "tail: %v\n", err)
		return 1
	}

	// The callback runs on the client's callback goroutine, one message
	// at a time; mu keeps it from writing once runTail is returning (Close
	// does not wait for a callback under way).
	out := bufio.NewWriter(stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	var mu sync.Mutex
	printed, stopped := 0, false
	finished := make(chan struct{})
	handle := func(m client.Message) {
		mu.Lock()
		defer mu.Unlock()
		if stopped || (*count > 0 && printed >= *count) {
			return // not printed, not acknowledged: the next run gets it
		}
		if err := enc.Encode(newTailLine(m)); err != nil {
			report(fatal, fmt.Errorf("write: %w", err))
			return
		}
		if err := out.Flush(); err != nil {
			report(fatal, fmt.Errorf("write: %w", err))
			return
		}
		if err := c.ReportMsgReceived(m); err != nil {
			report(fatal, err)
			return
		}
		printed++
		if printed == *count {
			close(finished)
		}
	}
	for _, b := range bizTypes {
		warnBizCase(stderr, "tail", b)
		if err := c.RegisterBiz(b, handle); err != nil {
			c.Close()
			if errors.Is(err, client.ErrInvalidBizType) {
				return usageError(stderr, fs, "--biz %q: %v", b, err)
			}
			fmt.Fprintf(stderr, "tail: %v\n", err)
			return 1
		}
	}
	if *user != "" {
		if err := c.UpdateUserInfo(*user, *session); err != nil {
			c.Close()
			return usageError(stderr, fs, "--user: %v", err)
		}
	}
	c.AppToForeground()

	code := 0
wait:
	for {
		select {
		case <-finished:
			break wait
		case <-ctx.Done():
			break wait
		case err := <-fatal:
			fmt.Fprintf(stderr, "tail: %v\n", err)
			code = 1
			break wait
		case err := <-notes:
			fmt.Fprintf(stderr, "tail: %v (reconnecting)\n", err)
		case w := <-withheld:
			fmt.Fprintf(stderr, "tail: not received on this connection: %s (user-target bizTypes need --user; device-target ones, on an instance binding devices to tokens, a --token naming the device)\n", strings.Join(w, ", "))
		}
	}
	mu.Lock()
	stopped = true
	mu.Unlock()
	if err := c.Close(); err != nil {
		fmt.Fprintf(stderr, "tail: %v\n", err)
		code = 1
	}
	return code
}
