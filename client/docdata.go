package client

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// A document's permanent records over the socket (README "Collaborative
// documents"): with a document open, an editor reads its comment
// threads, comments and suggestions and creates, updates, deletes
// (softly) and restores its own; a writer accepts and rejects
// suggestions. The server acts as the connection's user: the author of
// what it creates, and refused (FORBIDDEN) on another user's record.

// RecordAnswer is the answer to a record request. Code is "" on success
// (Records: the record as it is after the change, or those read), else
// NOT_OPEN (the document is not open on the connection), FORBIDDEN (the
// role does not allow it, or the record is another user's), NOT_FOUND,
// INVALID, CONFLICT, TOO_MANY_RECORDS or SYSTEM_ERROR, with Detail.
type RecordAnswer struct {
	Code       string
	Detail     string
	Records    []*opsyncpb.DocRecord
	NextCursor string
}

// RecordQuery is a list of a document's records of one kind, in creation
// order, Limit (0: the most, 1000) after Cursor.
type RecordQuery struct {
	Kind           opsyncpb.DocKind
	ThreadID       string // comments: of this thread only
	IncludeDeleted bool
	Limit          uint32
	Cursor         string
}

// CreateThread creates a comment thread (t.Id "": the server names it).
func (d *Document) CreateThread(ctx context.Context, t *opsyncpb.DocThread) (RecordAnswer, error) {
	return d.create(ctx, opsyncpb.DocKind_DOC_KIND_THREAD, &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Thread{Thread: t}})
}

// CreateComment creates a comment in thread c.ThreadId, by this user.
func (d *Document) CreateComment(ctx context.Context, c *opsyncpb.DocComment) (RecordAnswer, error) {
	return d.create(ctx, opsyncpb.DocKind_DOC_KIND_COMMENT, &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Comment{Comment: c}})
}

// CreateSuggestion creates an open suggestion, by this user.
func (d *Document) CreateSuggestion(ctx context.Context, s *opsyncpb.DocSuggestion) (RecordAnswer, error) {
	return d.create(ctx, opsyncpb.DocKind_DOC_KIND_SUGGESTION, &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Suggestion{Suggestion: s}})
}

// UpdateThread sets the context and attributes of thread id that t has
// (empty ones keep theirs).
func (d *Document) UpdateThread(ctx context.Context, id string, t *opsyncpb.DocThread) (RecordAnswer, error) {
	return d.update(ctx, opsyncpb.DocKind_DOC_KIND_THREAD, id, &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Thread{Thread: t}})
}

// UpdateComment sets the content and attributes of comment id that c has.
func (d *Document) UpdateComment(ctx context.Context, id string, c *opsyncpb.DocComment) (RecordAnswer, error) {
	return d.update(ctx, opsyncpb.DocKind_DOC_KIND_COMMENT, id, &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Comment{Comment: c}})
}

// UpdateSuggestion sets the type, data and attributes of suggestion id
// that s has.
func (d *Document) UpdateSuggestion(ctx context.Context, id string, s *opsyncpb.DocSuggestion) (RecordAnswer, error) {
	return d.update(ctx, opsyncpb.DocKind_DOC_KIND_SUGGESTION, id, &opsyncpb.DocRecord{Kind: &opsyncpb.DocRecord_Suggestion{Suggestion: s}})
}

// DeleteRecord marks a record deleted (RestoreRecord brings it back).
func (d *Document) DeleteRecord(ctx context.Context, kind opsyncpb.DocKind, id string) (RecordAnswer, error) {
	return d.act(ctx, opsyncpb.DocAction_DOC_ACTION_DELETE, kind, id)
}

// RestoreRecord restores a deleted record (a suggestion: open again).
func (d *Document) RestoreRecord(ctx context.Context, kind opsyncpb.DocKind, id string) (RecordAnswer, error) {
	return d.act(ctx, opsyncpb.DocAction_DOC_ACTION_RESTORE, kind, id)
}

// ResolveThread moves a thread to the comment archive.
func (d *Document) ResolveThread(ctx context.Context, id string) (RecordAnswer, error) {
	return d.act(ctx, opsyncpb.DocAction_DOC_ACTION_RESOLVE, opsyncpb.DocKind_DOC_KIND_THREAD, id)
}

// ReopenThread takes a resolved thread out of the comment archive.
func (d *Document) ReopenThread(ctx context.Context, id string) (RecordAnswer, error) {
	return d.act(ctx, opsyncpb.DocAction_DOC_ACTION_REOPEN, opsyncpb.DocKind_DOC_KIND_THREAD, id)
}

// AcceptSuggestion and RejectSuggestion settle an open suggestion
// (writers only); it is marked deleted, and a restore opens it again.
func (d *Document) AcceptSuggestion(ctx context.Context, id string) (RecordAnswer, error) {
	return d.act(ctx, opsyncpb.DocAction_DOC_ACTION_ACCEPT, opsyncpb.DocKind_DOC_KIND_SUGGESTION, id)
}

// RejectSuggestion: see AcceptSuggestion.
func (d *Document) RejectSuggestion(ctx context.Context, id string) (RecordAnswer, error) {
	return d.act(ctx, opsyncpb.DocAction_DOC_ACTION_REJECT, opsyncpb.DocKind_DOC_KIND_SUGGESTION, id)
}

// GetRecord reads a record (a deleted one only with includeDeleted).
func (d *Document) GetRecord(ctx context.Context, kind opsyncpb.DocKind, id string, includeDeleted bool) (RecordAnswer, error) {
	return d.RecordRequest(ctx, &opsyncpb.DocumentData{Action: opsyncpb.DocAction_DOC_ACTION_GET, Kind: kind, RecordId: id, IncludeDeleted: includeDeleted})
}

// ListRecords reads a page of records.
func (d *Document) ListRecords(ctx context.Context, q RecordQuery) (RecordAnswer, error) {
	return d.RecordRequest(ctx, &opsyncpb.DocumentData{Action: opsyncpb.DocAction_DOC_ACTION_LIST, Kind: q.Kind, ThreadId: q.ThreadID,
		IncludeDeleted: q.IncludeDeleted, Limit: q.Limit, Cursor: q.Cursor})
}

func (d *Document) create(ctx context.Context, kind opsyncpb.DocKind, r *opsyncpb.DocRecord) (RecordAnswer, error) {
	return d.RecordRequest(ctx, &opsyncpb.DocumentData{Action: opsyncpb.DocAction_DOC_ACTION_CREATE, Kind: kind, Record: r})
}

func (d *Document) update(ctx context.Context, kind opsyncpb.DocKind, id string, r *opsyncpb.DocRecord) (RecordAnswer, error) {
	return d.RecordRequest(ctx, &opsyncpb.DocumentData{Action: opsyncpb.DocAction_DOC_ACTION_UPDATE, Kind: kind, RecordId: id, Record: r})
}

func (d *Document) act(ctx context.Context, action opsyncpb.DocAction, kind opsyncpb.DocKind, id string) (RecordAnswer, error) {
	return d.RecordRequest(ctx, &opsyncpb.DocumentData{Action: action, Kind: kind, RecordId: id})
}

// RecordRequest sends any record request about this document (its
// document and request ids are set here) and waits for the answer. A
// request whose connection ends unanswered waits until ctx is done; a
// change may then have been made or not (read the record).
func (d *Document) RecordRequest(ctx context.Context, m *opsyncpb.DocumentData) (RecordAnswer, error) {
	if d.Closed() {
		return RecordAnswer{}, ErrClosed
	}
	c := d.c
	c.mu.Lock()
	if c.conn == nil || c.docs.records == nil {
		c.mu.Unlock()
		return RecordAnswer{}, ErrNotConnected
	}
	c.docs.nextReq++
	req := c.docs.nextReq
	ch := make(chan *opsyncpb.DocumentDataAnswer, 1)
	c.docs.records[req] = ch
	m.DocumentId, m.RequestId = d.id, req
	c.conn.sendLocked(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_DocumentData{DocumentData: m}})
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.docs.records, req)
		c.mu.Unlock()
	}()
	select {
	case a := <-ch:
		return RecordAnswer{Code: a.Code, Detail: a.Detail, Records: a.Records, NextCursor: a.NextCursor}, nil
	case <-ctx.Done():
		return RecordAnswer{}, ctx.Err()
	}
}

// receivedRecordAnswer hands an answer to its request (none: it gave up).
// Request 0 is the server's refusal of a watch: the token gives no role
// on the document.
func (c *Client) receivedRecordAnswer(a *opsyncpb.DocumentDataAnswer) {
	c.mu.Lock()
	ch := c.docs.records[a.RequestId]
	if a.RequestId == 0 && a.Code != "" {
		delete(c.docs.watching, a.DocumentId)
	}
	c.mu.Unlock()
	if ch != nil {
		select {
		case ch <- a:
		default: // answered already: a server's repeat is dropped
		}
	}
}

// recordsKind is the state kind of a document's record changes.
const recordsKind = "docrecords"

// OnRecordChange calls fn with each change of the document's records
// made from now on, by anyone (this editor, others, the backend), in the
// order they were made; nil stops. A change made while the client was
// disconnected is not replayed: list the records after a reconnect. fn
// runs on the connection's reading goroutine: it must not block. Each
// watched document is one more source open on the connection.
func (d *Document) OnRecordChange(fn func(*opsyncpb.DocumentDataEvent)) error {
	c := d.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.docs.open[d.id] != d {
		return ErrClosed
	}
	_, was := c.docs.watching[d.id]
	if fn == nil {
		delete(c.docs.watching, d.id)
		if was && c.conn != nil {
			c.conn.sendLocked(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Close{Close: &opsyncpb.Close{Kind: recordsKind, Id: d.id}}})
		}
		return nil
	}
	if !was && len(c.docs.open)+len(c.docs.watching)+len(c.blocks) >= maxOpenBlocks {
		return fmt.Errorf("opsync client: at most %d sources open", maxOpenBlocks)
	}
	if c.docs.watching == nil {
		c.docs.watching = map[string]func(*opsyncpb.DocumentDataEvent){}
	}
	c.docs.watching[d.id] = fn
	if !was && c.conn != nil {
		c.conn.sendLocked(openRecordsFrame(d.id))
	}
	return nil
}

// OnRecordsLive calls fn with the version of each live mark of the
// document's records: the Open of OnRecordChange reached the document
// (again after each reconnect), whose last change then was version, and
// every change after it reaches OnRecordChange's fn. nil stops. fn runs on
// the connection's reading goroutine: it must not block.
func (d *Document) OnRecordsLive(fn func(version uint64)) error {
	c := d.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.docs.open[d.id] != d {
		return ErrClosed
	}
	if fn == nil {
		delete(c.docs.live, d.id)
		return nil
	}
	if c.docs.live == nil {
		c.docs.live = map[string]func(uint64){}
	}
	c.docs.live[d.id] = fn
	return nil
}

func openRecordsFrame(id string) *opsyncpb.ClientFrame {
	return &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Open{Open: &opsyncpb.Open{Kind: recordsKind, Id: id}}}
}

// reopenRecordsLocked queues an Open for every watched document's records
// on a new connection. c.mu is held.
func (c *Client) reopenRecordsLocked(cn *conn) {
	for id := range c.docs.watching {
		cn.out = append(cn.out, openRecordsFrame(id))
	}
	if len(c.docs.watching) > 0 {
		cn.kick()
	}
}

// receivedRecordState hands a change of a watched document's records to
// its callback.
func (c *Client) receivedRecordState(u *opsyncpb.StateUpdate) {
	if u.Kind != recordsKind {
		return
	}
	c.mu.Lock()
	fn, live := c.docs.watching[u.Id], c.docs.live[u.Id]
	c.mu.Unlock()
	if fn == nil {
		return
	}
	if len(u.Data) == 0 {
		// The live mark (no change).
		if live != nil {
			live(u.Version)
		}
		return
	}
	var e opsyncpb.DocumentDataEvent
	if proto.Unmarshal(u.Data, &e) != nil {
		return
	}
	fn(&e)
}
