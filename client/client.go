package client

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"unicode/utf16"
)

// Limits the server enforces; the client checks them before connecting,
// because the server refuses a Connect breaking them for good (4400).
const (
	maxBizTypes = 256
	// maxIDLen bounds user and device ids in UTF-16 code units, as the
	// server measures them (and the source's Java the linkToken).
	maxIDLen = 100
)

// idLen is id's length as the server measures it: UTF-16 code units.
func idLen(id string) int { return len(utf16.Encode([]rune(id))) }

// bizTypePattern is the server's identifier rule (internal/actors
// ValidBizType): the source recommends capitals and '-' but enforces
// neither. Identifiers are matched exactly.
var bizTypePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,30}$`)

// Client is one opsync client: one device of one user, with a callback per
// registered bizType. Its methods are safe for concurrent use, and may be
// called from its callbacks.
type Client struct {
	opts    Options
	urls    []string // Server, then Servers: tried in turn
	backoff backoff
	events  *eventLoop

	// life serialises the lifecycle changes (foreground, identity, Close),
	// which wait for the connection loop to stop.
	life sync.Mutex
	loop *connLoop // guarded by life

	mu         sync.Mutex
	deviceID   string
	userID     string
	sessionID  string
	token      string // sent in Connect (Options.Token, SetToken)
	owner      string // the user the sync points belong to
	foreground bool
	closed     bool
	handlers   map[string]func(Message)
	points     *syncPoints
	conn       *conn    // the open connection (Connect sent), or nil
	connected  bool     // the server answered Connected on conn
	withheld   []string // Connected.withheld_biz_types of conn
	fatal      error
	blocks     map[string]*openBlock // open blocks (block.go)
	onBlock    func(Block)
	onTyped    func(TypedMessage)
	cards      cardState // open cards and their callbacks (card.go)
	docs       docState  // open documents and their requests (document.go)
	dirty      bool      // points changed since the last save

	saveMu    sync.Mutex // serialises saves, so the newest state is written last
	saveKick  chan struct{}
	saverDone chan struct{}
}

// connLoop is a running connection loop (see run).
type connLoop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// New initialises a client: it reads the state file (device id and sync
// points) and, when it had no device id, saves the one it generates. It
// does not connect: see AppToForeground and UpdateUserInfo.
func New(opts Options) (*Client, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	var urls []string
	for _, s := range append([]string{opts.Server}, opts.Servers...) {
		u, err := endpoint(s)
		if err != nil {
			return nil, err
		}
		urls = append(urls, u)
	}
	var st state
	if opts.StateFile != "" {
		if st, err = loadState(opts.StateFile); err != nil {
			return nil, err
		}
	}
	deviceID := opts.DeviceID
	if deviceID == "" {
		deviceID = st.DeviceID
	}
	if deviceID == "" {
		deviceID = newDeviceID()
	}
	if idLen(deviceID) > maxIDLen {
		return nil, fmt.Errorf("opsync client: DeviceID longer than %d characters", maxIDLen)
	}
	c := &Client{
		opts: opts, urls: urls, backoff: backoff{min: opts.MinBackoff, max: opts.MaxBackoff},
		deviceID: deviceID, token: opts.Token, owner: st.UserID, handlers: map[string]func(Message){},
		points: newSyncPoints(st.SyncPoints), blocks: map[string]*openBlock{},
	}
	if opts.StateFile != "" {
		if deviceID != st.DeviceID {
			c.dirty = true
			if err := c.save(); err != nil {
				return nil, err
			}
		}
		c.saveKick, c.saverDone = make(chan struct{}, 1), make(chan struct{})
		go c.saver()
	}
	c.events = newEventLoop(c.dispatch)
	return c, nil
}

// AppToForeground connects, and keeps reconnecting with backoff until
// AppToBackground, Close or a fatal error (see IsFatal). It connects as the
// user UpdateUserInfo set, or, before one is set (and after
// ClearUserInfo), device-only, as the source's SDK does: a device-only
// connection receives the device-target and global bizTypes (see
// Withheld).
func (c *Client) AppToForeground() error {
	c.life.Lock()
	defer c.life.Unlock()
	if err := c.update(func() { c.foreground, c.fatal = true, nil }); err != nil {
		return err
	}
	c.startLocked()
	return nil
}

// AppToBackground disconnects, stops reconnecting and saves the sync
// points. Messages already received are still passed to their callbacks.
func (c *Client) AppToBackground() error {
	c.life.Lock()
	defer c.life.Unlock()
	if err := c.update(func() { c.foreground = false }); err != nil {
		return err
	}
	c.stopLocked()
	return c.save()
}

// UpdateUserInfo sets the user and session the client connects as; a
// connected client reconnects with them. Sync points belong to a user: a
// different user than the one they were kept for starts without any (and
// the messages of the previous user not yet passed to callbacks are
// dropped).
func (c *Client) UpdateUserInfo(userID, sessionID string) error {
	if userID == "" || idLen(userID) > maxIDLen {
		return fmt.Errorf("opsync client: userID must be 1-%d characters", maxIDLen)
	}
	c.life.Lock()
	defer c.life.Unlock()
	var changed bool
	if err := c.update(func() {
		changed = userID != c.userID || sessionID != c.sessionID
		c.fatal = nil
	}); err != nil {
		return err
	}
	if changed {
		c.stopLocked()
		c.mu.Lock()
		c.userID, c.sessionID = userID, sessionID
		if c.owner != userID {
			if c.owner != "" {
				c.points = newSyncPoints(nil)
				c.events.dropMessages()
			}
			c.owner = userID
			c.markDirtyLocked()
		}
		c.mu.Unlock()
	}
	c.startLocked()
	return nil
}

// ClearUserInfo logs the user out: it disconnects, drops the messages not
// yet passed to callbacks, saves the sync points (kept for when the same
// user comes back) and, in the foreground, connects again device-only.
func (c *Client) ClearUserInfo() error {
	c.life.Lock()
	defer c.life.Unlock()
	if err := c.update(func() {}); err != nil {
		return err
	}
	c.stopLocked()
	c.update(func() {
		c.userID, c.sessionID = "", ""
		c.events.dropMessages()
	})
	err := c.save()
	c.startLocked()
	return err
}

// Close disconnects, saves the sync points and stops the client. No
// callback starts after Close returns; one running may finish after it.
func (c *Client) Close() error {
	c.life.Lock()
	defer c.life.Unlock()
	if err := c.update(func() { c.closed = true }); err != nil {
		return nil // closed before
	}
	c.stopLocked()
	c.events.stop()
	if c.saveKick != nil {
		close(c.saveKick)
		<-c.saverDone
	}
	return c.save()
}

// IsConnected reports whether the client is connected now.
func (c *Client) IsConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// Withheld returns the registered bizTypes the server said the current
// connection does not receive (nil when not connected): user-target ones
// on a device-only connection, device-target ones when the instance binds
// devices to tokens and the client's token names no device. Their messages
// stay pending on the server.
func (c *Client) Withheld() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.withheld)
}

// SyncDeviceID is the device id the client connects with.
func (c *Client) SyncDeviceID() string { return c.deviceID }

// Err returns the fatal error that stopped the client connecting, until
// the next AppToForeground or UpdateUserInfo; nil if there is none.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fatal
}

// update runs f under c.mu unless the client is closed.
func (c *Client) update(f func()) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	f()
	return nil
}

// startLocked starts the connection loop if the client is in the
// foreground and no loop runs. c.life is held.
func (c *Client) startLocked() {
	if c.loop != nil {
		select {
		case <-c.loop.done: // ended by a fatal error
			c.loop = nil
		default:
			return
		}
	}
	c.mu.Lock()
	want := c.foreground && !c.closed
	c.mu.Unlock()
	if !want {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.loop = &connLoop{cancel: cancel, done: make(chan struct{})}
	go c.run(ctx, c.loop.done)
}

// stopLocked stops the connection loop and waits for it. c.life is held.
func (c *Client) stopLocked() {
	if c.loop == nil {
		return
	}
	c.loop.cancel()
	<-c.loop.done
	c.loop = nil
}

// dispatch runs one callback on the event loop.
func (c *Client) dispatch(e event) {
	if c.dispatchBlock(e) || c.dispatchCard(e) {
		return
	}
	switch {
	case e.msg != nil:
		if cb := c.handlerFor(e.cn, *e.msg); cb != nil {
			cb(*e.msg)
		}
	case e.connected != nil:
		if c.opts.OnStateChange != nil {
			c.opts.OnStateChange(*e.connected)
		}
	case e.err != nil:
		if c.opts.OnError != nil {
			c.opts.OnError(e.err)
		}
	}
}

// handlerFor returns the callback of m's bizType, or nil when the bizType
// has none (it was unregistered while m was on its way): the server
// delivers m again once the bizType is registered again, or on the next
// connection.
func (c *Client) handlerFor(cn *conn, m Message) func(Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handlers[m.BizType]
}

// markDirtyLocked notes that the sync points changed and has the saver
// write them. c.mu is held.
func (c *Client) markDirtyLocked() {
	c.dirty = true
	if c.saveKick != nil && !c.closed {
		select {
		case c.saveKick <- struct{}{}:
		default: // a save is due already and will see this change
		}
	}
}

// saver writes the state file after changes, coalescing those that come
// while it writes.
func (c *Client) saver() {
	defer close(c.saverDone)
	for range c.saveKick {
		if err := c.save(); err != nil {
			c.events.push(event{err: err})
		}
	}
}

// save writes the state file if the state changed since the last save.
func (c *Client) save() error {
	if c.opts.StateFile == "" {
		return nil
	}
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	c.mu.Lock()
	if !c.dirty {
		c.mu.Unlock()
		return nil
	}
	st := state{DeviceID: c.deviceID, UserID: c.owner, SyncPoints: c.points.points()}
	c.dirty = false
	c.mu.Unlock()
	if err := saveState(c.opts.StateFile, st); err != nil {
		c.mu.Lock()
		c.dirty = true
		c.mu.Unlock()
		return err
	}
	return nil
}

// SetToken replaces the client token (see Options.Token) sent at the next
// connect, e.g. before the current one expires. It does not reconnect.
func (c *Client) SetToken(token string) {
	c.mu.Lock()
	c.token = token
	c.mu.Unlock()
}
