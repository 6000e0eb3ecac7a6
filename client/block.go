package client

import (
	"errors"
	"fmt"
	"regexp"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Blocks (README "Block entities"): a client opens a block and receives
// its current version, then every newer one (OnResourceChange), and the
// typed messages its backend sends to this user while it is open
// (OnTypedMessage). Open blocks are opened again after a reconnect.

// Block is a version of a block entity.
type Block struct {
	BlockID     string
	Version     uint64
	Title       string
	BlockTypeID string
	// SourceData is the block's data: a JSON text.
	SourceData string
	SourceMeta string
	SourceLink string
	Owner      string
	Extra      string
	Summary    string
	Preview    string
	BusinessID string
	UpdatedAt  int64 // ms since the epoch
	// Deleted: the backend deleted the block at Version (its last version,
	// every data field empty). Should it be created again (under a
	// business id), newer versions follow while it stays open.
	Deleted bool
}

// TypedMessage is a message the backend sent to this user's devices that
// have the block open; it is never stored.
type TypedMessage struct {
	BlockID  string
	Type     string
	Data     []byte
	Version  uint64
	Resource string
}

// maxOpenBlocks is the server's bound of state sources per connection.
const maxOpenBlocks = 256

var blockIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ErrInvalidBlockID is returned for a block id the server would refuse.
var ErrInvalidBlockID = errors.New("opsync client: a block id is 1-64 characters of A-Z, a-z, 0-9, '_' and '-'")

// openBlock is what the client passed on of an open block.
type openBlock struct {
	version uint64 // the newest version passed to OnResourceChange
	typed   uint64 // the highest typed message version passed on
}

// OnResourceChange sets the callback of block versions (nil: none).
func (c *Client) OnResourceChange(fn func(Block)) {
	c.mu.Lock()
	c.onBlock = fn
	c.mu.Unlock()
}

// OnTypedMessage sets the callback of typed messages (nil: none).
func (c *Client) OnTypedMessage(fn func(TypedMessage)) {
	c.mu.Lock()
	c.onTyped = fn
	c.mu.Unlock()
}

// OpenBlock opens a block: OnResourceChange receives its current version,
// then every newer one, in order, until CloseBlock. Opening an open block
// does nothing.
func (c *Client) OpenBlock(blockID string) error {
	if !blockIDPattern.MatchString(blockID) {
		return ErrInvalidBlockID
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.blocks[blockID] != nil {
		return nil
	}
	if len(c.blocks) >= maxOpenBlocks {
		return fmt.Errorf("opsync client: at most %d blocks open", maxOpenBlocks)
	}
	c.blocks[blockID] = &openBlock{}
	if c.conn != nil {
		c.conn.sendLocked(openFrame(blockID))
	}
	return nil
}

// CloseBlock closes a block: nothing more of it is passed on.
func (c *Client) CloseBlock(blockID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.blocks[blockID] == nil {
		return
	}
	delete(c.blocks, blockID)
	if c.conn != nil {
		c.conn.sendLocked(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Close{Close: &opsyncpb.Close{Kind: blockKind, Id: blockID}}})
	}
}

const blockKind = "block"

func openFrame(blockID string) *opsyncpb.ClientFrame {
	return &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Open{Open: &opsyncpb.Open{Kind: blockKind, Id: blockID}}}
}

// reopenLocked queues an Open for every open block on a new connection,
// before anything else it sends. c.mu is held.
func (c *Client) reopenLocked(cn *conn) {
	for id := range c.blocks {
		cn.out = append(cn.out, openFrame(id))
	}
	if len(c.blocks) > 0 {
		cn.kick()
	}
}

// receivedState passes a block version on unless it is not newer than
// the last one passed on (a reconnect sends the current version again).
func (c *Client) receivedState(u *opsyncpb.StateUpdate) {
	if u.Kind != blockKind {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.blocks[u.Id]
	if b == nil || u.Version <= b.version {
		return
	}
	e := &opsyncpb.BlockEntity{}
	if err := proto.Unmarshal(u.Data, e); err != nil {
		return
	}
	b.version = u.Version
	c.events.push(event{block: &Block{BlockID: u.Id, Version: u.Version, Title: e.Title, BlockTypeID: e.BlockTypeId,
		SourceData: e.SourceData, SourceMeta: e.SourceMeta, SourceLink: e.SourceLink, Owner: e.Owner, Extra: e.Extra,
		Summary: e.Summary, Preview: e.Preview, BusinessID: e.BusinessId, UpdatedAt: e.UpdatedAt, Deleted: u.Deleted || e.Deleted}})
}

// receivedTyped passes a typed message on unless its version is lower
// than the last one passed on for its block (the source's rule: a client
// drops a message older than its local version).
func (c *Client) receivedTyped(m *opsyncpb.TypedMessage) {
	if m.Kind != blockKind {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.blocks[m.Id]
	if b == nil || m.Version < b.typed {
		return
	}
	b.typed = m.Version
	c.events.push(event{typed: &TypedMessage{BlockID: m.Id, Type: m.Type, Data: m.Data, Version: m.Version, Resource: m.Resource}})
}

// dispatchBlock runs a block callback; false when e is not a block event.
func (c *Client) dispatchBlock(e event) bool {
	switch {
	case e.block != nil:
		c.mu.Lock()
		fn := c.onBlock
		c.mu.Unlock()
		if fn != nil {
			fn(*e.block)
		}
	case e.typed != nil:
		c.mu.Lock()
		fn := c.onTyped
		c.mu.Unlock()
		if fn != nil {
			fn(*e.typed)
		}
	default:
		return false
	}
	return true
}
