package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/proto/opsyncpb"
)

var (
	journalEvents = []*opsyncpb.Event{
		{Time: 1700000000000, Kind: &opsyncpb.Event_InstanceCreated{InstanceCreated: &opsyncpb.InstanceCreated{InstanceId: "inst-1"}}},
		{Time: 1700000000001, Kind: &opsyncpb.Event_EntryAppended{EntryAppended: &opsyncpb.Entry{
			OplogId: 2, BizType: "news", Payload: `{"title":"<hello>\n"}`, PushTime: 1700000000001,
		}}},
		{Time: 1700000000002, Kind: &opsyncpb.Event_BizTypePut{BizTypePut: &opsyncpb.BizTypePut{Config: &opsyncpb.BizTypeConfig{
			BizType: "news", Scope: opsyncpb.Scope_SCOPE_GLOBAL, Online: true,
		}}}},
	}
	// A record that is not an opsyncpb.Event (a truncated varint).
	journalGarbage = []byte{0xff, 0xff, 0xff}
)

// writeJournalStore fills a store in a new directory and closes it:
//
//	"inst-1": events 1..3 as journalEvents, 4 garbage, 5 = journalEvents[0]; snapshot at 3
//	"b":      events 1..4 with 1..2 deleted; snapshot at 2
//	"gone":   event 1, deleted
func writeJournalStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := persistence.OpenPebble(dir, persistence.PebbleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var evs [][]byte
	for _, e := range journalEvents {
		b, err := proto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, b)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Append(ctx, "inst-1", 1, evs))
	must(s.Append(ctx, "inst-1", 4, [][]byte{journalGarbage, evs[0]}))
	must(s.SaveSnapshot(ctx, "inst-1", 3, []byte("snap")))
	must(s.Append(ctx, "b", 1, [][]byte{evs[0], evs[0], evs[0], evs[0]}))
	must(s.DeleteRange(ctx, "b", 1, 2))
	must(s.SaveSnapshot(ctx, "b", 2, []byte("snap")))
	must(s.Append(ctx, "gone", 1, [][]byte{evs[0]}))
	must(s.DeleteRange(ctx, "gone", 1, 1))
	must(s.Close())
	return dir
}

func runJournalCapture(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runJournal(args, &out, &errb)
	return code, out.String(), errb.String()
}

// jsonLines splits output into lines, each of which must be one JSON object.
func jsonLines(t *testing.T, out string) []map[string]json.RawMessage {
	t.Helper()
	if out == "" {
		return nil
	}
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("output does not end in a newline: %q", out)
	}
	var lines []map[string]json.RawMessage
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestJournalList(t *testing.T) {
	dir := writeJournalStore(t)
	code, out, errOut := runJournalCapture("--data", dir, "list")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	want := []string{
		`{"actor":"b","highestSeq":4,"events":2,"firstSeq":3,"snapshotSeq":2}`,
		`{"actor":"gone","highestSeq":1,"events":0,"firstSeq":0,"snapshotSeq":0}`,
		`{"actor":"inst-1","highestSeq":5,"events":5,"firstSeq":1,"snapshotSeq":3}`,
	}
	if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); !slices.Equal(got, want) {
		t.Fatalf("list:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}

	// Flags may follow the command too.
	if code, out2, _ := runJournalCapture("list", "--data", dir); code != 0 || out2 != out {
		t.Fatalf("list --data: exit %d, output %q", code, out2)
	}
}

func TestJournalDump(t *testing.T) {
	dir := writeJournalStore(t)
	code, out, errOut := runJournalCapture("--data", dir, "dump", "inst-1")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := jsonLines(t, out)
	if len(lines) != 5 {
		t.Fatalf("got %d lines, want 5:\n%s", len(lines), out)
	}
	wantEvents := []*opsyncpb.Event{journalEvents[0], journalEvents[1], journalEvents[2], nil, journalEvents[0]}
	for i, line := range lines {
		if seq := string(line["seq"]); seq != string(rune('1'+i)) {
			t.Fatalf("line %d: seq %s", i, seq)
		}
		want := wantEvents[i]
		if want == nil {
			if _, ok := line["event"]; ok || len(line["error"]) < 3 {
				t.Fatalf("undecodable record: %s", out)
			}
			var raw string
			if err := json.Unmarshal(line["raw"], &raw); err != nil {
				t.Fatal(err)
			}
			if b, err := base64.StdEncoding.DecodeString(raw); err != nil || !bytes.Equal(b, journalGarbage) {
				t.Fatalf("raw = %q (%v), want base64 of %x", raw, err, journalGarbage)
			}
			continue
		}
		var got opsyncpb.Event
		if err := protojson.Unmarshal(line["event"], &got); err != nil {
			t.Fatalf("line %d: event is not protojson of an Event: %v", i, err)
		}
		if !proto.Equal(&got, want) {
			t.Fatalf("line %d: event %v, want %v", i, &got, want)
		}
		if _, ok := line["error"]; ok {
			t.Fatalf("line %d has an error: %s", i, out)
		}
	}
	// protojson naming: lowerCamelCase, 64-bit integers as strings, enums
	// by name, unset fields left out.
	for _, s := range []string{`"entryAppended":{`, `"oplogId":"2"`, `"scope":"SCOPE_GLOBAL"`, `"time":"1700000000000"`} {
		if !strings.Contains(out, s) {
			t.Errorf("dump lacks %s:\n%s", s, out)
		}
	}
	if strings.Contains(out, `"osType"`) || strings.Contains(out, `"target"`) {
		t.Errorf("dump prints unset fields:\n%s", out)
	}

	// Deleted events are not there; an actor whose events are all deleted
	// dumps nothing, successfully.
	if code, out, _ := runJournalCapture("--data", dir, "dump", "b"); code != 0 || len(jsonLines(t, out)) != 2 ||
		!strings.HasPrefix(out, `{"seq":3,`) {
		t.Fatalf("dump b: exit %d\n%s", code, out)
	}
	if code, out, errOut := runJournalCapture("--data", dir, "dump", "gone"); code != 0 || out != "" {
		t.Fatalf("dump gone: exit %d, %q %q", code, out, errOut)
	}
}

// Keys an earlier version journaled in clear are not shown; what this
// version stores (a hash, a sealed secret) is.
func TestJournalDumpRedactsClearKeys(t *testing.T) {
	dir := t.TempDir()
	s, err := persistence.OpenPebble(dir, persistence.PebbleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var evs [][]byte
	for _, k := range []*opsyncpb.InstanceKeysSet{
		{ApiKey: "clear-api-key", ClientSecret: "clear-client-secret"},
		{ApiKeyHash: []byte{1, 2, 3}, ClientSecretSealed: []byte{4, 5, 6}, ApiKeyPrefix: "abcdef"},
	} {
		b, _ := proto.Marshal(&opsyncpb.Event{Time: 1, Kind: &opsyncpb.Event_InstanceKeysSet{InstanceKeysSet: k}})
		evs = append(evs, b)
	}
	if err := s.Append(context.Background(), "instance:ws_A", 1, evs); err != nil {
		t.Fatal(err)
	}
	s.Close()
	code, out, errOut := runJournalCapture("--data", dir, "dump", "instance:ws_A")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(out, "clear-api-key") || strings.Contains(out, "clear-client-secret") || strings.Count(out, redacted) != 2 {
		t.Fatalf("clear keys not redacted:\n%s", out)
	}
	for _, want := range []string{`"apiKeyHash":"AQID"`, `"clientSecretSealed":"BAUG"`, `"apiKeyPrefix":"abcdef"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("dump lacks %s:\n%s", want, out)
		}
	}
}

func TestJournalErrors(t *testing.T) {
	dir := writeJournalStore(t)
	empty := t.TempDir()
	missing := filepath.Join(empty, "missing")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string // substring
	}{
		{"no args", nil, 2, "--data is required"},
		{"no command", []string{"--data", dir}, 2, "missing command"},
		{"unknown command", []string{"--data", dir, "frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown flag", []string{"--data", dir, "--bogus", "list"}, 2, "bogus"},
		{"list with argument", []string{"--data", dir, "list", "x"}, 2, "list takes no arguments"},
		{"dump without actor", []string{"--data", dir, "dump"}, 2, "exactly one ACTOR"},
		{"dump with two actors", []string{"--data", dir, "dump", "a", "b"}, 2, "exactly one ACTOR"},
		{"dump empty actor", []string{"--data", dir, "dump", "--", ""}, 2, "invalid actor id"},
		{"dump unknown actor", []string{"--data", dir, "dump", "nobody"}, 1, `"nobody" has no journal`},
		{"missing data dir", []string{"--data", missing, "list"}, 1, "no such file"},
		{"data is a file", []string{"--data", filepath.Join(dir, "LOCK"), "list"}, 1, "not a directory"},
		{"data without a store", []string{"--data", empty, "list"}, 1, "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runJournalCapture(tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr:\n%s\nwant exit %d and stderr containing %q",
					code, out, errOut, tc.code, tc.stderr)
			}
			if tc.code == 2 && !strings.Contains(errOut, "usage: opsync journal") {
				t.Fatalf("usage error without usage:\n%s", errOut)
			}
		})
	}
	// Neither the missing nor the empty directory was written to.
	if ents, err := os.ReadDir(empty); err != nil || len(ents) != 0 {
		t.Fatalf("--data left %v (%v) behind", ents, err)
	}
}

func TestJournalDumpActorAfterDoubleDash(t *testing.T) {
	dir := t.TempDir()
	s, err := persistence.OpenPebble(dir, persistence.PebbleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := proto.Marshal(journalEvents[0])
	if err := s.Append(context.Background(), "--help", 1, [][]byte{b}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	code, out, errOut := runJournalCapture("--data", dir, "dump", "--", "--help")
	if code != 0 || len(jsonLines(t, out)) != 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestJournalHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"--data", "x", "list", "--help"}} {
		code, out, errOut := runJournalCapture(args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "usage: opsync journal") || !strings.Contains(out, "-data") {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// A node holds its store's lock; the offline tool must refuse, not race it.
func TestJournalStoreInUse(t *testing.T) {
	dir := writeJournalStore(t)
	s, err := persistence.OpenPebble(dir, persistence.PebbleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if code, out, errOut := runJournalCapture("--data", dir, "list"); code != 1 || out != "" || !strings.Contains(errOut, "still running") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
