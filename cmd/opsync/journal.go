package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
)

const journalUsage = `usage: opsync journal --data DIR list
       opsync journal --data DIR dump ACTOR

Inspect a stopped node's data offline, as JSON lines on stdout.

  list         one line per actor:
               {"actor":"...","highestSeq":N,"events":N,"firstSeq":N,"snapshotSeq":N}
  dump ACTOR   one line per stored event of ACTOR:
               {"seq":N,"event":{...}}, or {"seq":N,"error":"...","raw":"<base64>"}
               for an event that does not decode

The store is opened read-only; it cannot be opened while a node is using it.

flags:
`

// runJournal implements `opsync journal`. It returns the exit code: 0 on
// success, 1 when the store cannot be read, 2 for a usage error.
func runJournal(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("journal", flag.ContinueOnError)
	data := fs.String("data", "", "the node's data directory (required)")
	usage := func(w io.Writer) {
		fmt.Fprint(w, journalUsage)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	fs.Usage = func() {} // printed below, to stdout or stderr as the case may be

	// Flags may come before or after the subcommand: parse, take one
	// positional argument, parse the rest again; "--" ends the flags.
	var pos []string
	var parseErr bytes.Buffer
	fs.SetOutput(&parseErr)
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage(stdout)
				return 0
			}
			fmt.Fprintf(stderr, "opsync journal: %s\n", strings.TrimSpace(parseErr.String()))
			usage(stderr)
			return 2
		}
		left := fs.Args()
		if len(left) == 0 {
			break
		}
		if consumed := len(rest) - len(left); consumed > 0 && rest[consumed-1] == "--" {
			pos = append(pos, left...)
			break
		}
		pos = append(pos, left[0])
		rest = left[1:]
	}

	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "opsync journal: "+format+"\n", a...)
		usage(stderr)
		return 2
	}
	if *data == "" {
		return usageErr("--data is required")
	}
	if len(pos) == 0 {
		return usageErr("missing command: list or dump ACTOR")
	}
	switch pos[0] {
	case "list":
		if len(pos) != 1 {
			return usageErr("list takes no arguments, got %q", pos[1:])
		}
	case "dump":
		if len(pos) != 2 {
			return usageErr("dump takes exactly one ACTOR")
		}
		if pos[1] == "" || len(pos[1]) > persistence.MaxActorIDLen {
			return usageErr("invalid actor id %q", pos[1])
		}
	default:
		return usageErr("unknown command %q", pos[0])
	}

	// Pebble's own message for a missing directory talks about a missing
	// database; say plainly which flag is wrong.
	if st, err := os.Stat(*data); err != nil {
		fmt.Fprintf(stderr, "opsync journal: --data: %v\n", err)
		return 1
	} else if !st.IsDir() {
		fmt.Fprintf(stderr, "opsync journal: --data %s: not a directory\n", *data)
		return 1
	}

	store, err := persistence.OpenPebble(*data, persistence.PebbleOptions{
		ReadOnly: true,
		Logger:   slog.New(slog.NewTextHandler(stderr, nil)),
	})
	if err != nil {
		hint := ""
		if errors.Is(err, syscall.EAGAIN) || strings.Contains(err.Error(), "lock held") {
			hint = " (is a node still running on this directory?)"
		}
		fmt.Fprintf(stderr, "opsync journal: %v%s\n", err, hint)
		return 1
	}
	defer store.Close()

	out := json.NewEncoder(stdout)
	out.SetEscapeHTML(false)
	switch pos[0] {
	case "list":
		err = journalList(store, out)
	case "dump":
		err = journalDump(store, pos[1], out)
	}
	if err != nil {
		fmt.Fprintf(stderr, "opsync journal: %v\n", err)
		return 1
	}
	return 0
}

type journalActorLine struct {
	Actor       string `json:"actor"`
	HighestSeq  uint64 `json:"highestSeq"`
	Events      int    `json:"events"`
	FirstSeq    uint64 `json:"firstSeq"`
	SnapshotSeq uint64 `json:"snapshotSeq"`
}

func journalList(store *persistence.PebbleStore, out *json.Encoder) error {
	return store.Actors(func(a persistence.ActorInfo) error {
		return out.Encode(journalActorLine{
			Actor:       a.ID,
			HighestSeq:  a.HighestSeq,
			Events:      a.Events,
			FirstSeq:    a.FirstSeq,
			SnapshotSeq: a.SnapshotSeq,
		})
	})
}

type journalEventLine struct {
	Seq   uint64          `json:"seq"`
	Event json.RawMessage `json:"event,omitempty"`
	Error string          `json:"error,omitempty"`
	Raw   []byte          `json:"raw,omitempty"`
}

func journalDump(store *persistence.PebbleStore, actor string, out *json.Encoder) error {
	ctx := context.Background()
	highest, err := store.HighestSeq(ctx, actor)
	if err != nil {
		return err
	}
	if highest == 0 {
		// An actor that never appended: most likely a mistyped id, which
		// an empty, successful output would hide.
		return fmt.Errorf("actor %q has no journal", actor)
	}
	marshal := protojson.MarshalOptions{}
	_, err = store.Replay(ctx, actor, 1, persistence.MaxSeq, -1, func(seq uint64, event []byte) error {
		line := journalEventLine{Seq: seq}
		var ev opsyncpb.Event
		if err := proto.Unmarshal(event, &ev); err != nil {
			line.Error, line.Raw = err.Error(), event
		} else if j, err := marshal.Marshal(redactClearKeys(&ev)); err != nil {
			line.Error, line.Raw = err.Error(), event
		} else {
			// encoding/json compacts it: protojson's output is one line
			// but its spacing is deliberately unstable.
			line.Event = j
		}
		return out.Encode(line)
	})
	return err
}

// redacted stands for a key in clear in a dump.
const redacted = "<redacted>"

// redactClearKeys hides the keys an earlier version journaled in clear
// (in an instance not activated since the upgrade, which would have
// migrated them): a dump goes into tickets and chats. The API key's hash
// and the sealed client secret are shown as they are.
func redactClearKeys(ev *opsyncpb.Event) *opsyncpb.Event {
	if k := ev.GetInstanceKeysSet(); k != nil {
		if k.ApiKey != "" {
			k.ApiKey = redacted
		}
		if k.ClientSecret != "" {
			k.ClientSecret = redacted
		}
	}
	return ev
}
