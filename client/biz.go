package client

import (
	"fmt"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// RegisterBiz sets the callback of bizType and has the server deliver its
// messages after the client's sync point for it; registering a bizType
// again replaces its callback. Messages of bizTypes not registered stay
// pending on the server.
func (c *Client) RegisterBiz(bizType string, cb func(Message)) error {
	if !bizTypePattern.MatchString(bizType) {
		return ErrInvalidBizType
	}
	if cb == nil {
		return errNilCallback
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if _, ok := c.handlers[bizType]; ok {
		c.handlers[bizType] = cb
		return nil
	}
	if len(c.handlers) >= maxBizTypes {
		return fmt.Errorf("opsync client: at most %d bizTypes", maxBizTypes)
	}
	c.handlers[bizType] = cb
	if cn := c.conn; cn != nil {
		cn.sendLocked(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_RegisterBiz{
			RegisterBiz: &opsyncpb.RegisterBiz{BizType: bizType, SyncPoint: c.points.point(bizType)}}})
	}
	return nil
}

// UnregisterBiz removes the callback of bizType; its messages stay pending
// on the server until it is registered again.
func (c *Client) UnregisterBiz(bizType string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.handlers[bizType]; !ok {
		return
	}
	delete(c.handlers, bizType)
	if c.conn != nil {
		c.conn.sendLocked(&opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_UnregisterBiz{
			UnregisterBiz: &opsyncpb.UnregisterBiz{BizType: bizType}}})
	}
}

// ReportMsgReceived acknowledges a delivered message: the server will not
// deliver it again, and the bizType's sync point advances over it once
// every message delivered before it is reported too. Reporting a message
// again is harmless.
func (c *Client) ReportMsgReceived(m Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	advanced, err := c.points.report(m.BizType, m.OplogID)
	if err != nil {
		return err
	}
	if advanced {
		c.markDirtyLocked()
	}
	if c.conn != nil {
		c.conn.ackLocked(m.BizType, m.OplogID)
	}
	return nil
}

// SyncPoint is the client's sync point for bizType: every message up to
// it has been reported.
func (c *Client) SyncPoint(bizType string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.points.point(bizType)
}
