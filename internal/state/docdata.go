package state

import (
	"fmt"
	"sort"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// DocData is the permanent data of one document of an environment: its
// users, comment threads, comments, suggestions and revisions, each kept
// until it is removed for good (a soft deletion only marks it). The rules
// of changes are here too (Decide), pure, so that the actor only journals
// what Decide makes and answers.
type DocData struct {
	lastSeq uint64
	records map[docKey]*opsyncpb.DocRecord
	// bytes is what the records weigh encoded (MaxDocBytes bounds it).
	bytes int
	// unhooked are the webhook events journaled with changes that the
	// outbox is not known to have, ascending seq.
	unhooked []*opsyncpb.DocHookQueued
	// open opens events journaled sealed with the environment's data key
	// (nil: none can be applied).
	open func([]byte) ([]byte, error)
}

// WithOpener lets the state apply sealed events, opened by open.
func (d *DocData) WithOpener(open func([]byte) ([]byte, error)) *DocData {
	d.open = open
	return d
}

type docKey struct {
	kind opsyncpb.DocKind
	id   string
}

// MaxDocRecords and MaxDocBytes bound the records of one document, so
// that a client cannot grow an actor's memory without end.
const (
	MaxDocRecords = 100_000
	MaxDocBytes   = 64 << 20
)

// Unhooked are the webhook events the outbox is not known to have, in
// the order of their changes (read-only).
func (d *DocData) Unhooked() []*opsyncpb.DocHookQueued { return d.unhooked }

// Bytes is what the records weigh encoded.
func (d *DocData) Bytes() int { return d.bytes }

// Codes of refused commands (DocDataAnswer.code).
const (
	DocNotFound  = "NOT_FOUND"
	DocForbidden = "FORBIDDEN"
	DocInvalid   = "INVALID"
	DocConflict  = "CONFLICT"
	DocTooMany   = "TOO_MANY_RECORDS"
)

// DocRefusal is a command Decide refuses, with its code.
type DocRefusal struct{ Code, Detail string }

func (r *DocRefusal) Error() string { return r.Code + ": " + r.Detail }

func refuse(code, format string, a ...any) *DocRefusal {
	return &DocRefusal{Code: code, Detail: fmt.Sprintf(format, a...)}
}

// NewDocData returns the state of a document without events.
func NewDocData() *DocData { return &DocData{records: map[docKey]*opsyncpb.DocRecord{}} }

// LastSeq is the sequence number of the last applied event.
func (d *DocData) LastSeq() uint64 { return d.lastSeq }

// Len is the number of records kept (soft-deleted ones too).
func (d *DocData) Len() int { return len(d.records) }

// KindOf is the kind of a record.
func KindOf(r *opsyncpb.DocRecord) opsyncpb.DocKind {
	switch r.GetKind().(type) {
	case *opsyncpb.DocRecord_User:
		return opsyncpb.DocKind_DOC_KIND_USER
	case *opsyncpb.DocRecord_Thread:
		return opsyncpb.DocKind_DOC_KIND_THREAD
	case *opsyncpb.DocRecord_Comment:
		return opsyncpb.DocKind_DOC_KIND_COMMENT
	case *opsyncpb.DocRecord_Suggestion:
		return opsyncpb.DocKind_DOC_KIND_SUGGESTION
	case *opsyncpb.DocRecord_Revision:
		return opsyncpb.DocKind_DOC_KIND_REVISION
	}
	return opsyncpb.DocKind_DOC_KIND_UNSPECIFIED
}

// RecordID, recordOrder, deletedAt, author and threadOf read the fields
// every kind shares.
func RecordID(r *opsyncpb.DocRecord) string {
	switch k := r.GetKind().(type) {
	case *opsyncpb.DocRecord_User:
		return k.User.Id
	case *opsyncpb.DocRecord_Thread:
		return k.Thread.Id
	case *opsyncpb.DocRecord_Comment:
		return k.Comment.Id
	case *opsyncpb.DocRecord_Suggestion:
		return k.Suggestion.Id
	case *opsyncpb.DocRecord_Revision:
		return k.Revision.Id
	}
	return ""
}

func recordOrder(r *opsyncpb.DocRecord) uint64 {
	switch k := r.GetKind().(type) {
	case *opsyncpb.DocRecord_Thread:
		return k.Thread.Order
	case *opsyncpb.DocRecord_Comment:
		return k.Comment.Order
	case *opsyncpb.DocRecord_Suggestion:
		return k.Suggestion.Order
	case *opsyncpb.DocRecord_Revision:
		return k.Revision.Order
	}
	return 0
}

func setOrder(r *opsyncpb.DocRecord, o uint64) {
	switch k := r.GetKind().(type) {
	case *opsyncpb.DocRecord_Thread:
		k.Thread.Order = o
	case *opsyncpb.DocRecord_Comment:
		k.Comment.Order = o
	case *opsyncpb.DocRecord_Suggestion:
		k.Suggestion.Order = o
	case *opsyncpb.DocRecord_Revision:
		k.Revision.Order = o
	}
}

// DeletedAt is when a record was soft-deleted (0: it is not).
func DeletedAt(r *opsyncpb.DocRecord) int64 {
	switch k := r.GetKind().(type) {
	case *opsyncpb.DocRecord_Thread:
		return k.Thread.DeletedAt
	case *opsyncpb.DocRecord_Comment:
		return k.Comment.DeletedAt
	case *opsyncpb.DocRecord_Suggestion:
		return k.Suggestion.DeletedAt
	case *opsyncpb.DocRecord_Revision:
		return k.Revision.DeletedAt
	}
	return 0
}

func setDeleted(r *opsyncpb.DocRecord, at int64) {
	switch k := r.GetKind().(type) {
	case *opsyncpb.DocRecord_Thread:
		k.Thread.DeletedAt = at
	case *opsyncpb.DocRecord_Comment:
		k.Comment.DeletedAt = at
	case *opsyncpb.DocRecord_Suggestion:
		k.Suggestion.DeletedAt = at
	case *opsyncpb.DocRecord_Revision:
		k.Revision.DeletedAt = at
	}
}

func setTimes(r *opsyncpb.DocRecord, created, updated int64) {
	switch k := r.GetKind().(type) {
	case *opsyncpb.DocRecord_User:
		k.User.CreatedAt, k.User.UpdatedAt = created, updated
	case *opsyncpb.DocRecord_Thread:
		k.Thread.CreatedAt, k.Thread.UpdatedAt = created, updated
	case *opsyncpb.DocRecord_Comment:
		k.Comment.CreatedAt, k.Comment.UpdatedAt = created, updated
	case *opsyncpb.DocRecord_Suggestion:
		k.Suggestion.CreatedAt, k.Suggestion.UpdatedAt = created, updated
	case *opsyncpb.DocRecord_Revision:
		k.Revision.CreatedAt, k.Revision.UpdatedAt = created, updated
	}
}

func createdAt(r *opsyncpb.DocRecord) int64 {
	switch k := r.GetKind().(type) {
	case *opsyncpb.DocRecord_User:
		return k.User.CreatedAt
	case *opsyncpb.DocRecord_Thread:
		return k.Thread.CreatedAt
	case *opsyncpb.DocRecord_Comment:
		return k.Comment.CreatedAt
	case *opsyncpb.DocRecord_Suggestion:
		return k.Suggestion.CreatedAt
	case *opsyncpb.DocRecord_Revision:
		return k.Revision.CreatedAt
	}
	return 0
}

// Author is the user who owns a comment, suggestion or thread ("" other
// kinds, and a thread the backend made without an author: nobody owns
// them).
func Author(r *opsyncpb.DocRecord) string {
	switch k := r.GetKind().(type) {
	case *opsyncpb.DocRecord_Thread:
		return k.Thread.AuthorId
	case *opsyncpb.DocRecord_Comment:
		return k.Comment.UserId
	case *opsyncpb.DocRecord_Suggestion:
		return k.Suggestion.UserId
	}
	return ""
}

func threadOf(r *opsyncpb.DocRecord) string { return r.GetComment().GetThreadId() }

// Get is a record by kind and id, a copy; a soft-deleted one only with
// includeDeleted.
func (d *DocData) Get(kind opsyncpb.DocKind, id string, includeDeleted bool) (*opsyncpb.DocRecord, bool) {
	r, ok := d.records[docKey{kind, id}]
	if !ok || (!includeDeleted && DeletedAt(r) != 0) {
		return nil, false
	}
	return proto.Clone(r).(*opsyncpb.DocRecord), true
}

// List answers a page of records of kind in creation order after cursor
// (a thread's comments only with threadID), and the cursor of the next
// page ("" when this one is the last).
func (d *DocData) List(kind opsyncpb.DocKind, threadID string, includeDeleted bool, limit int, cursor string) ([]*opsyncpb.DocRecord, string, *DocRefusal) {
	var after uint64
	if cursor != "" {
		c, err := strconv.ParseUint(cursor, 10, 64)
		if err != nil {
			return nil, "", refuse(DocInvalid, "cursor %q is not one a list answered", cursor)
		}
		after = c
	}
	var all []*opsyncpb.DocRecord
	for k, r := range d.records {
		if k.kind != kind || (!includeDeleted && DeletedAt(r) != 0) || (threadID != "" && threadOf(r) != threadID) {
			continue
		}
		if kind != opsyncpb.DocKind_DOC_KIND_USER && recordOrder(r) <= after {
			continue
		}
		all = append(all, r)
	}
	sort.Slice(all, func(i, j int) bool {
		if oi, oj := recordOrder(all[i]), recordOrder(all[j]); oi != oj {
			return oi < oj
		}
		return RecordID(all[i]) < RecordID(all[j])
	})
	if kind == opsyncpb.DocKind_DOC_KIND_USER && cursor != "" {
		// Users have no creation order of their own: the cursor is the
		// count of those already answered.
		if int(after) >= len(all) {
			all = nil
		} else {
			all = all[after:]
		}
	}
	next := ""
	if len(all) > limit {
		all = all[:limit]
		if kind == opsyncpb.DocKind_DOC_KIND_USER {
			next = strconv.FormatUint(after+uint64(limit), 10)
		} else {
			next = strconv.FormatUint(recordOrder(all[len(all)-1]), 10)
		}
	}
	out := make([]*opsyncpb.DocRecord, len(all))
	for i, r := range all {
		out[i] = proto.Clone(r).(*opsyncpb.DocRecord)
	}
	return out, next, nil
}

// Apply applies the event stored under seq.
func (d *DocData) Apply(seq uint64, ev *opsyncpb.Event) error {
	if seq <= d.lastSeq {
		return fmt.Errorf("events: doc data event %d applied after %d", seq, d.lastSeq)
	}
	var e *opsyncpb.DocDataEvent
	switch k := ev.Kind.(type) {
	case *opsyncpb.Event_DocData:
		e = k.DocData
	case *opsyncpb.Event_DocDataSealed:
		if d.open == nil {
			return fmt.Errorf("events: doc data event %d is sealed and no key opens it", seq)
		}
		plain, err := d.open(k.DocDataSealed)
		if err != nil {
			return fmt.Errorf("events: doc data event %d does not open: %w", seq, err)
		}
		e = &opsyncpb.DocDataEvent{}
		if err := proto.Unmarshal(plain, e); err != nil {
			return fmt.Errorf("events: doc data event %d: %w", seq, err)
		}
	default:
		return fmt.Errorf("events: %T is not a doc data event", ev.Kind)
	}
	if e.DocumentRemoved {
		d.records, d.bytes = map[docKey]*opsyncpb.DocRecord{}, 0
	}
	if e.Hooked > 0 {
		i := 0
		for i < len(d.unhooked) && d.unhooked[i].Seq <= e.Hooked {
			i++
		}
		d.unhooked = d.unhooked[i:]
	}
	if e.Hook != nil {
		d.unhooked = append(d.unhooked, &opsyncpb.DocHookQueued{Seq: seq, Event: e.Hook})
	}
	for _, r := range e.Put {
		k := docKey{KindOf(r), RecordID(r)}
		if k.kind == opsyncpb.DocKind_DOC_KIND_UNSPECIFIED || k.id == "" {
			return fmt.Errorf("events: doc data event %d puts a record without kind or id", seq)
		}
		c := proto.Clone(r).(*opsyncpb.DocRecord)
		if prev, ok := d.records[k]; ok {
			setOrder(c, recordOrder(prev))
			d.bytes -= proto.Size(prev)
		} else {
			setOrder(c, seq)
		}
		d.records[k] = c
		d.bytes += proto.Size(c)
	}
	for _, rm := range e.Removed {
		k := docKey{rm.Kind, rm.Id}
		if prev, ok := d.records[k]; ok {
			d.bytes -= proto.Size(prev)
			delete(d.records, k)
		}
	}
	d.lastSeq = seq
	return nil
}

// Snapshot returns the state as a message to store.
func (d *DocData) Snapshot() *opsyncpb.DocDataSnapshot {
	s := &opsyncpb.DocDataSnapshot{LastSeq: d.lastSeq, Records: make([]*opsyncpb.DocRecord, 0, len(d.records)), Unhooked: d.unhooked}
	for _, r := range d.records {
		s.Records = append(s.Records, r)
	}
	return s
}

// RestoreDocData rebuilds the state a snapshot was taken of.
func RestoreDocData(s *opsyncpb.DocDataSnapshot) *DocData {
	d := NewDocData()
	d.lastSeq, d.unhooked = s.LastSeq, s.Unhooked
	for _, r := range s.Records {
		d.records[docKey{KindOf(r), RecordID(r)}] = r
		d.bytes += proto.Size(r)
	}
	return d
}
