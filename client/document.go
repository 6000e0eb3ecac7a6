package client

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Collaborative documents (README "Collaborative documents"): an editor
// opens a document and receives its latest snapshot and every operation
// after it, then each operation the session accepts, in version order.
// It sends operations made at the version it has; the session accepts
// them only at its current version, else answers the operations the
// editor missed (Answer.Code "REBASE") so that it rebases its own on them
// and sends again. Operations are opaque bytes.

// DocOp is an accepted operation at its version.
type DocOp struct {
	Version uint64
	Data    []byte
	UserID  string
}

// DocAnswer is the session's answer to Send or SendSnapshot. Code is ""
// when accepted (Version: the version of the last operation sent), else
// REBASE (Version: the current version; Missed: the operations after the
// base version, already applied to the Document), FORBIDDEN, INVALID,
// TOO_LARGE, RESYNC or SYSTEM_ERROR, with Detail.
type DocAnswer struct {
	Code    string
	Detail  string
	Version uint64
	Missed  []DocOp
}

// Document is an open document: the operations the session accepted, in
// version order, since its latest snapshot when the editor opened it.
type Document struct {
	c  *Client
	id string

	mu       sync.Mutex
	version  uint64
	snapshot []byte
	snapVer  uint64
	ops      []DocOp
	ahead    map[uint64]DocOp // received before the version below them
	changed  chan struct{}    // closed and replaced on every change
	closed   bool
}

// docState is the client's open documents and its requests waiting for
// their answers. Client.mu guards it.
type docState struct {
	open    map[string]*Document
	waiting map[uint64]chan *opsyncpb.DocumentAnswer
	nextReq uint64
	// records: the record requests waiting (docdata.go); their ids are
	// nextReq's too.
	records map[uint64]chan *opsyncpb.DocumentDataAnswer
	// watching: the callbacks of documents' record changes (docdata.go).
	watching map[string]func(*opsyncpb.DocumentDataEvent)
	// live: the documents' live-mark callbacks (OnRecordsLive).
	live map[string]func(version uint64)
}

const documentKind = "document"

var documentIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// ErrInvalidDocumentID is returned for a document id the server would
// refuse.
var ErrInvalidDocumentID = errors.New("opsync client: a document id is 1-128 characters of A-Z, a-z, 0-9, '_', '.' and '-'")

// ErrNotConnected is returned by a document request made while the client
// has no connection.
var ErrNotConnected = errors.New("opsync client: not connected")

// OpenDocument opens a document (again after a reconnect, until Close):
// its state arrives asynchronously (WaitVersion).
func (c *Client) OpenDocument(id string) (*Document, error) {
	if !documentIDPattern.MatchString(id) {
		return nil, ErrInvalidDocumentID
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.docs.open == nil {
		c.docs.open = map[string]*Document{}
		c.docs.waiting = map[uint64]chan *opsyncpb.DocumentAnswer{}
		c.docs.records = map[uint64]chan *opsyncpb.DocumentDataAnswer{}
	}
	if d := c.docs.open[id]; d != nil {
		return d, nil
	}
	if len(c.docs.open)+len(c.docs.watching)+len(c.blocks) >= maxOpenBlocks {
		return nil, fmt.Errorf("opsync client: at most %d sources open", maxOpenBlocks)
	}
	d := &Document{c: c, id: id, ahead: map[uint64]DocOp{}, changed: make(chan struct{})}
	c.docs.open[id] = d
	if c.conn != nil {
		c.conn.sendLocked(openDocFrame(id))
	}
	return d, nil
}

func openDocFrame(id string) *opsyncpb.ClientFrame {
	return &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Open{Open: &opsyncpb.Open{Kind: documentKind, Id: id}}}
}

// reopenDocsLocked queues an Open for every open document on a new
// connection. c.mu is held.
func (c *Client) reopenDocsLocked(cn *conn) {
	for id := range c.docs.open {
		cn.out = append(cn.out, openDocFrame(id))
	}
	if len(c.docs.open) > 0 {
		cn.kick()
	}
}

// ID is the document's id.
func (d *Document) ID() string { return d.id }

// Close closes the document: nothing more of it is received.
func (d *Document) Close() {
	c := d.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.docs.open[d.id] != d {
		return
	}
	delete(c.docs.open, d.id)
	if c.conn != nil {
		c.conn.sendLocked(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Close{Close: &opsyncpb.Close{Kind: documentKind, Id: d.id}}})
		if _, watched := c.docs.watching[d.id]; watched {
			c.conn.sendLocked(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Close{Close: &opsyncpb.Close{Kind: recordsKind, Id: d.id}}})
		}
	}
	delete(c.docs.watching, d.id)
	delete(c.docs.live, d.id)
	d.mu.Lock()
	d.closed = true
	d.notifyLocked()
	d.mu.Unlock()
}

// Version is the version of the last operation the editor has.
func (d *Document) Version() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.version
}

// Snapshot is the snapshot the document was opened with (nil: none) and
// its version.
func (d *Document) Snapshot() ([]byte, uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.snapshot, d.snapVer
}

// Ops is the operations after the snapshot, in version order (a copy).
func (d *Document) Ops() []DocOp {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]DocOp(nil), d.ops...)
}

// Changed is closed at the document's next change (a new version, a
// snapshot, or its closing); call it again after each.
func (d *Document) Changed() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changed
}

// Closed reports whether the document was closed (by Close, or by the
// server: the token gives no role on it, or its session ended).
func (d *Document) Closed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// WaitVersion waits until the editor has version v (or a newer one).
func (d *Document) WaitVersion(ctx context.Context, v uint64) error {
	for {
		d.mu.Lock()
		have, ch, closed := d.version, d.changed, d.closed
		d.mu.Unlock()
		if have >= v {
			return nil
		}
		if closed {
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("document %s at version %d, waiting for %d: %w", d.id, have, v, ctx.Err())
		}
	}
}

// Send sends operations made at base (the version the editor had) and
// waits for the answer. Accepted, they are the document's versions
// base+1…; told to REBASE, the missed operations are applied first.
func (d *Document) Send(ctx context.Context, base uint64, ops [][]byte) (DocAnswer, error) {
	a, err := d.c.docRequest(ctx, func(req uint64) *opsyncpb.ClientFrame {
		return &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_DocumentOps{DocumentOps: &opsyncpb.DocumentOps{
			DocumentId: d.id, RequestId: req, BaseVersion: base, Ops: ops}}}
	})
	if err != nil {
		return DocAnswer{}, err
	}
	res := DocAnswer{Code: a.Code, Detail: a.Detail, Version: a.Version}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch a.Code {
	case "":
		// Ours, at the versions the session gave them (the broadcast of
		// them may come before or after this answer).
		first := a.Version - uint64(len(ops)) + 1
		for i, op := range ops {
			d.addLocked(DocOp{Version: first + uint64(i), Data: op, UserID: d.c.currentUser()})
		}
	case "REBASE":
		for _, op := range a.Ops {
			o := DocOp{Version: op.Version, Data: op.Data, UserID: op.UserId}
			res.Missed = append(res.Missed, o)
			d.addLocked(o)
		}
	}
	d.notifyLocked()
	return res, nil
}

// SendSnapshot stores the editor's content at version (one it has) as
// the document's snapshot: a late joiner then starts from it.
func (d *Document) SendSnapshot(ctx context.Context, version uint64, data []byte) (DocAnswer, error) {
	a, err := d.c.docRequest(ctx, func(req uint64) *opsyncpb.ClientFrame {
		return &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_DocumentSnapshot{DocumentSnapshot: &opsyncpb.DocumentSnapshotFrame{
			DocumentId: d.id, RequestId: req, Version: version, Data: data}}}
	})
	if err != nil {
		return DocAnswer{}, err
	}
	return DocAnswer{Code: a.Code, Detail: a.Detail, Version: a.Version}, nil
}

func (c *Client) currentUser() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.userID
}

// docRequest sends the frame of a request and waits for its answer.
func (c *Client) docRequest(ctx context.Context, frame func(req uint64) *opsyncpb.ClientFrame) (*opsyncpb.DocumentAnswer, error) {
	c.mu.Lock()
	if c.conn == nil || c.docs.waiting == nil {
		c.mu.Unlock()
		return nil, ErrNotConnected
	}
	c.docs.nextReq++
	req := c.docs.nextReq
	ch := make(chan *opsyncpb.DocumentAnswer, 1)
	c.docs.waiting[req] = ch
	c.conn.sendLocked(frame(req))
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.docs.waiting, req)
		c.mu.Unlock()
	}()
	select {
	case a := <-ch:
		return a, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// receivedDocAnswer hands an answer to its request; an answer to an Open
// (request 0: the token gives no role on the document) closes it.
func (c *Client) receivedDocAnswer(a *opsyncpb.DocumentAnswer) {
	c.mu.Lock()
	ch := c.docs.waiting[a.RequestId]
	var refused *Document
	if a.RequestId == 0 && a.Code != "" {
		refused = c.docs.open[a.DocumentId]
		delete(c.docs.open, a.DocumentId)
	}
	c.mu.Unlock()
	if ch != nil {
		ch <- a
	}
	if refused != nil {
		refused.mu.Lock()
		refused.closed = true
		refused.notifyLocked()
		refused.mu.Unlock()
	}
}

// receivedDocState applies a document update: a joiner's snapshot and the
// operations after it, or an accepted batch.
func (c *Client) receivedDocState(u *opsyncpb.StateUpdate) {
	if u.Kind != documentKind {
		return
	}
	c.mu.Lock()
	d := c.docs.open[u.Id]
	if d != nil && u.Deleted {
		// The session ended (removed through the REST API, or the
		// environment deleted): the document is closed; OpenDocument
		// joins a new session.
		delete(c.docs.open, u.Id)
	}
	c.mu.Unlock()
	if d == nil {
		return
	}
	if u.Deleted {
		d.mu.Lock()
		d.closed = true
		d.notifyLocked()
		d.mu.Unlock()
		return
	}
	var m opsyncpb.DocumentUpdate
	if proto.Unmarshal(u.Data, &m) != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := m.Snapshot; s != nil && s.Version > d.version {
		// The editor is behind the snapshot: it starts from it.
		d.snapshot, d.snapVer, d.version, d.ops = s.Data, s.Version, s.Version, nil
	}
	for _, op := range m.Ops {
		d.addLocked(DocOp{Version: op.Version, Data: op.Data, UserID: op.UserId})
	}
	d.notifyLocked()
}

// addLocked applies op if it is the next version, keeps it if it is
// ahead, and ignores it if the editor has it.
func (d *Document) addLocked(op DocOp) {
	switch {
	case op.Version <= d.version:
		return
	case op.Version > d.version+1:
		if len(d.ahead) < maxAhead {
			d.ahead[op.Version] = op
		}
		return
	}
	d.ops = append(d.ops, op)
	d.version = op.Version
	for {
		next, ok := d.ahead[d.version+1]
		if !ok {
			break
		}
		delete(d.ahead, next.Version)
		d.ops = append(d.ops, next)
		d.version = next.Version
	}
	for v := range d.ahead {
		if v <= d.version {
			delete(d.ahead, v)
		}
	}
}

// maxAhead bounds the operations kept ahead of a gap.
const maxAhead = 4096

func (d *Document) notifyLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
}
